import gc
import os
import sys

import numpy as np
import pytest

from warmstart.data.bandit_log import TrainingLog
from warmstart.policies.base import Decision, PolicyContext
from warmstart.policies.vw import VWPooledPolicy, VWUser  # imports vowpalwabbit lazily, in __init__
from warmstart.sim.linear_types import LinearTypesConfig, LinearTypesPopulation

pytest.importorskip("vowpalwabbit")

DIM = 10
FAST = {"pretrain_events": 2000}


@pytest.fixture(scope="module")
def sim() -> LinearTypesPopulation:
    return LinearTypesPopulation(LinearTypesConfig())


@pytest.fixture(scope="module")
def context(sim) -> PolicyContext:
    log = sim.logged(300, 20, seed=0)
    return PolicyContext(dim=DIM, train_log=TrainingLog(log.candidates, log.action, log.propensity, log.reward))


@pytest.fixture(scope="module")
def policy(context) -> VWPooledPolicy:
    return VWPooledPolicy(context, seed=0, **FAST)


def rollout(policy, theta, steps, seed, n_actions=20):
    """Play ``steps`` rounds for one user; returns the decisions and the per-step regret."""
    rng = np.random.default_rng(seed)
    state = policy.new_user()
    decisions, regret = [], []
    try:
        for _ in range(steps):
            X = rng.standard_normal((n_actions, DIM)) / np.sqrt(DIM)
            d = policy.act(state, X)
            means = X @ theta
            policy.update(state, X, d.action, float(means[d.action] + 0.5 * rng.standard_normal()))
            decisions.append(d)
            regret.append(means.max() - means[d.action])
    finally:
        state.close()
    return decisions, np.array(regret)


def test_registered_and_reports_its_settings(policy):
    assert VWPooledPolicy.name == "vw_pooled" and VWPooledPolicy.needs_train_log
    s = policy.settings()
    assert "--cb_explore_adf" in s["vw_args"] and "--squarecb" in s["vw_args"] and "--quiet" in s["vw_args"]
    assert s["learning_rate"] == 8.0 and s["pretrain_events"] == 2000 and s["n_pretrain_events"] == 2000


def test_missing_vowpalwabbit_asks_for_the_peers_extra(context, monkeypatch):
    monkeypatch.setitem(sys.modules, "vowpalwabbit", None)
    with pytest.raises(ImportError, match=r"pip install 'warmstart\[peers\]'"):
        VWPooledPolicy(context, **FAST)


def test_construction_needs_a_valid_training_log(context):
    log = context.train_log
    with pytest.raises(ValueError, match="training log"):
        VWPooledPolicy(PolicyContext(dim=DIM))
    with pytest.raises(ValueError, match="candidates"):
        VWPooledPolicy(PolicyContext(dim=DIM + 1, train_log=log), **FAST)
    with pytest.raises(ValueError, match="pretrain_events"):
        VWPooledPolicy(context, pretrain_events=-5)
    bad = TrainingLog(log.candidates, log.action, np.zeros_like(log.propensity), log.reward)
    with pytest.raises(ValueError, match="propensity"):
        VWPooledPolicy(PolicyContext(dim=DIM, train_log=bad), **FAST)


def test_pretraining_skips_padding_and_caps_the_events(sim):
    log = sim.logged(10, 8, seed=1)
    action = log.action.copy()
    action[0, 2:] = -1
    action[3, :] = -1
    padded = PolicyContext(dim=DIM, train_log=TrainingLog(log.candidates, action, log.propensity, log.reward))
    assert VWPooledPolicy(padded, pretrain_events=None).n_pretrain_events == 80 - 6 - 8
    assert VWPooledPolicy(padded, pretrain_events=10).n_pretrain_events == 10


def test_decisions_carry_vws_pmf(policy, sim):
    theta = sim.sample_users(1, np.random.default_rng(3)).theta[0]
    decisions, _ = rollout(policy, theta, 20, seed=4)
    for d in decisions:
        assert isinstance(d, Decision) and isinstance(d.action, int) and 0 <= d.action < 20
        p = d.probabilities
        assert p.shape == (20,) and np.all(p >= 0) and np.isclose(p.sum(), 1.0)
        assert 0.0 < d.propensity <= 1.0 and d.propensity == p[d.action]
    # SquareCB spreads some mass: not every decision is deterministic
    assert any(d.propensity < 1.0 for d in decisions)


def test_same_seed_gives_the_same_actions(context, sim):
    theta = sim.sample_users(1, np.random.default_rng(5)).theta[0]
    d1, _ = rollout(VWPooledPolicy(context, seed=7, **FAST), theta, 30, seed=11)
    d2, _ = rollout(VWPooledPolicy(context, seed=7, **FAST), theta, 30, seed=11)
    assert [(d.action, d.propensity) for d in d1] == [(d.action, d.propensity) for d in d2]


def test_actions_are_sampled_with_the_policys_generator(policy):
    # a fresh user's pmf on a fixed set: the draws follow the policy's rng and match the pmf
    X = np.random.default_rng(0).standard_normal((4, DIM)) * 0.01
    state = policy.new_user()
    try:
        draws = [policy.act(state, X) for _ in range(400)]
    finally:
        state.close()
    pmf = draws[0].probabilities
    freq = np.bincount([d.action for d in draws], minlength=4) / 400
    assert np.all(np.abs(freq - pmf) < 0.08)


def test_user_workspaces_are_closed_and_the_model_file_removed(context):
    policy = VWPooledPolicy(context, **FAST)
    state = policy.new_user()
    assert isinstance(state, VWUser) and not state.closed
    X = np.random.default_rng(0).standard_normal((3, DIM))
    policy.update(state, X, 1, 0.5)
    state.close()
    state.close()  # idempotent
    assert state.closed
    with pytest.raises(ValueError, match="closed"):
        policy.act(state, X)
    another = policy.new_user()  # dropped without close(): the finaliser finishes it
    del another
    directory = policy._dir
    assert os.path.isdir(directory)
    del policy, state
    gc.collect()
    assert not os.path.exists(directory)


def test_users_learn_independently_from_the_pretrained_model(policy, sim):
    # a user's learning does not leak into the next user's copy of the pre-trained model
    X = np.random.default_rng(1).standard_normal((6, DIM)) / np.sqrt(DIM)
    fresh = policy.new_user()
    before = policy.act(fresh, X).probabilities
    fresh.close()
    theta = sim.sample_users(1, np.random.default_rng(2)).theta[0]
    rollout(policy, theta, 50, seed=3)
    again = policy.new_user()
    np.testing.assert_allclose(policy.act(again, X).probabilities, before)
    again.close()


def test_learns_a_new_user_far_better_than_random(policy, sim, uniform_regret):
    theta = sim.sample_users(1, np.random.default_rng(21)).theta[0]
    _, regret = rollout(policy, theta, 150, seed=22)
    random_regret = uniform_regret(theta, 150, seed=22)  # same candidate sets
    assert regret[-50:].mean() < 0.3 * random_regret[-50:].mean()
