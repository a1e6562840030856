import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import warmstart.sim  # noqa: F401  (registers the environments)
from warmstart.sim.satiation import (
    SatiationConfig,
    SatiationDynamics,
    SatiationEnv,
    SatiationPopulation,
    long_term,
    short_term,
)
from warmstart.sim.users import OUTLIER, UserBatch


def test_gymnasium_env_checker_passes():
    env = gym.make("warmstart/Satiation-v0")
    check_env(env.unwrapped, skip_render_check=True)




def _rollout(seed, actions):
    env = gym.make("warmstart/Satiation-v0", horizon=len(actions))
    obs, _ = env.reset(seed=seed)
    rewards, observations, trunc = [], [obs], False
    for a in actions:
        obs, r, _, trunc, _ = env.step(a)
        rewards.append(r)
        observations.append(obs)
    return np.array(rewards), np.array(observations), trunc


def test_same_seed_same_episode_and_truncation_at_the_horizon():
    actions = [t % 6 for t in range(15)]
    a, obs_a, trunc = _rollout(7, actions)
    b, obs_b, _ = _rollout(7, actions)
    assert trunc and np.array_equal(a, b) and np.array_equal(obs_a, obs_b)
    assert not np.array_equal(a, _rollout(8, actions)[0])


def test_features_dynamics_and_rewards_match_a_hand_computation():
    # 3 categories, clickbait = 2, exposure decay 0.5, habit decay 0.8
    env = SatiationEnv(n_categories=3, clickbait=(2,), exposure_decay=0.5, habit_decay=0.8, n_types=2,
                       susceptible_types=(1,), noise_sd=0.0)
    env.reset(seed=0)
    theta = np.array([2.0, 1.0, 3.0, -0.5, -0.2, -0.1, -0.3])  # base, -satiation, -harm
    env.user = UserBatch(theta[None], np.array([0]))
    # serve 2, 0, 2: exposures (0,0,0) -> (0,0,1) -> (1,0,0.5) -> (0.5,0,1.25); habit 0 -> 1 -> 0.8 -> 1.64
    expected_reward = [3.0, 2.0 - 0.3 * 1.0, 3.0 - 0.1 * 0.5 - 0.3 * 0.8]
    infos = []
    for a, want in zip([2, 0, 2], expected_reward, strict=True):
        obs, r, _, _, info = env.step(a)
        infos.append(info)
        assert r == pytest.approx(want) and info["expected_reward"] == pytest.approx(want)
    np.testing.assert_allclose(obs[:, 3:6], np.diag([0.5, 0.0, 1.25]))
    np.testing.assert_allclose(obs[:, :3], np.eye(3))
    np.testing.assert_allclose(obs[:, 6], 1.64)
    assert info["habit"] == pytest.approx(0.8) and info["habit_cost"] == pytest.approx(0.3 * 0.8)
    # second step, state (0,0,1), h = 1: items worth 2 - 0.3, 1 - 0.3, 3 - 0.1 - 0.3; category 0 was served
    assert infos[1]["regret"] == pytest.approx(2.6 - 1.7)
    assert infos[2]["regret"] == pytest.approx(0.0)
    assert obs in env.observation_space


def test_read_state_inverts_features_and_rejects_other_inputs():
    dyn = SatiationDynamics()
    e, h = np.array([0.1, 0.0, 2.0, 0.3, 0.0, 1.5]), np.array(4.2)
    X = dyn.features(e, h)
    order = np.array([4, 0, 5])
    cats, exposure, habit = dyn.read_state(X[order])
    assert cats.tolist() == [4, 0, 5] and exposure.tolist() == [0.0, 0.1, 1.5] and habit == pytest.approx(4.2)
    with pytest.raises(ValueError, match="actions"):
        dyn.read_state(np.random.default_rng(0).normal(size=(6, 13)))
    with pytest.raises(ValueError, match="actions"):
        dyn.read_state(X[[1, 1]])  # the same category twice
    bad = X.copy()
    bad[2, -1] += 1.0
    with pytest.raises(ValueError, match="habit"):
        dyn.read_state(bad)


def test_population_follows_its_stated_rationale():
    cfg = SatiationConfig()
    pop = SatiationPopulation(cfg)
    C = cfg.n_categories
    mu = pop.type_means
    regular = mu[:, : C - 1].max(axis=1)
    pull = mu[:, C - 1] - regular
    sus = np.array(cfg.susceptible_types)
    assert np.all((pull[sus] >= 0.5) & (pull[sus] <= 1.0))
    other = np.setdiff1d(np.arange(cfg.n_types), sus)
    assert np.all(pull[other] < 0)  # clickbait is unappealing to the other types
    # the always-clickbait habit stock (20) costs 1.5 for susceptible types, more than their largest pull
    np.testing.assert_allclose(-mu[sus, -1] * 20, 1.5)
    np.testing.assert_allclose(-mu[other, -1] * 20, 0.1)
    assert np.all(-mu[:, C : 2 * C - 1] >= 0.2) and np.all(-mu[:, C : 2 * C - 1] <= 0.5)
    users = pop.sample_users(20000, np.random.default_rng(0))
    assert abs(np.mean(users.type_id == OUTLIER) - 0.02) < 0.005
    assert abs(np.mean(users.type_id == cfg.minority_type) - 0.05) < 0.008
    assert np.array_equal(SatiationPopulation(cfg).type_means, mu)  # seeded by population_seed


def test_training_log_follows_the_dynamics_and_is_uniform():
    pop = SatiationPopulation()
    log = pop.logged(50, 12, seed=1)
    assert log.candidates.shape == (50, 12, 6, 13) and np.allclose(log.propensity, 1 / 6)
    dyn = pop.dynamics
    e, h = np.zeros(6), np.zeros(())
    for t in range(12):
        np.testing.assert_allclose(log.candidates[3, t], dyn.features(e, h))
        e, h = dyn.advance(e, h, log.action[3, t])
    # rewards: linear in the chosen features plus noise of the configured scale
    resid = log.reward - np.einsum("ntd,nd->nt", log.chosen, log.users.theta)
    assert 0.4 < resid.std() < 0.6
    assert log.summary().A.shape == (50, 13, 13)
    np.testing.assert_array_equal(pop.logged(50, 12, seed=1).reward, log.reward)


def test_definitions_of_short_and_long_term():
    eng = np.vstack([np.r_[np.ones(20), np.zeros(80), np.full(100, 3.0)], np.arange(200.0)])
    np.testing.assert_allclose(short_term(eng), [1.0, 9.5])
    np.testing.assert_allclose(long_term(eng), [3.0, 149.5])
