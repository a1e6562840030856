import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import warmstart.sim  # noqa: F401  (registers the environments)
from warmstart.sim.linear_types import LinearTypesConfig, LinearTypesPopulation, logged_summary
from warmstart.sim.users import OUTLIER


# candidate features are Gaussian, so the observation space is unbounded by design
@pytest.mark.filterwarnings("ignore:.*Box observation space (minimum|maximum) value is.*:UserWarning")
def test_gymnasium_env_checker_passes():
    env = gym.make("warmstart/LinearTypes-v0")
    check_env(env.unwrapped, skip_render_check=True)


def test_same_seed_same_episode():
    def rollout(seed):
        env = gym.make("warmstart/LinearTypes-v0", horizon=20)
        env.reset(seed=seed)
        rewards = []
        for t in range(20):
            _, r, _, trunc, _ = env.step(t % 20)
            rewards.append(r)
        return np.array(rewards), trunc

    a, trunc = rollout(7)
    b, _ = rollout(7)
    assert np.array_equal(a, b) and trunc
    assert not np.array_equal(a, rollout(8)[0])


def test_truth_never_in_observation_and_groups_sample_as_asked():
    env = gym.make("warmstart/LinearTypes-v0")
    obs, info = env.reset(seed=0, options={"kind": "outlier"})
    assert obs.shape == (20, 10) and "theta" not in info
    assert env.unwrapped.user.type_id[0] == OUTLIER
    env.reset(seed=0, options={"kind": "minority"})
    assert env.unwrapped.user.type_id[0] == LinearTypesConfig().minority_type


def test_population_shares_and_presets():
    pop = LinearTypesPopulation(LinearTypesConfig())
    users = pop.sample_users(20000, np.random.default_rng(0))
    assert abs(np.mean(users.type_id == OUTLIER) - 0.02) < 0.005
    assert abs(np.mean(users.type_id == 7) - 0.03) < 0.006
    hard = LinearTypesPopulation(LinearTypesConfig.preset_named("hard"))
    assert np.allclose(hard.type_means, 0.5 * pop.type_means)
    with pytest.raises(ValueError, match="preset"):
        LinearTypesConfig.preset_named("nope")


def test_log_propensities_and_summary_shortcut_agree_in_distribution():
    pop = LinearTypesPopulation(LinearTypesConfig())
    log = pop.logged(400, 20, seed=1)
    assert np.allclose(log.propensity, 1 / 20)
    full = log.summary()
    fast = logged_summary(pop, 400, 20, seed=1)
    # same distribution of summaries: compare average trace of A and average n
    assert np.allclose(full.n, fast.n)
    assert abs(np.trace(full.A.mean(0)) - np.trace(fast.A.mean(0))) < 0.1 * np.trace(full.A.mean(0))
