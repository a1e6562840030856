"""Shared fixtures: a small simulated population and a fitted population, built once per session."""

from __future__ import annotations

import numpy as np
import pytest

from warmstart.families.linear.fit import FitConfig, fit_population
from warmstart.sim.linear_types import LinearTypesConfig, LinearTypesPopulation


@pytest.fixture(scope="session")
def truth() -> LinearTypesPopulation:
    return LinearTypesPopulation(LinearTypesConfig())


@pytest.fixture(scope="session")
def small_log(truth):
    return truth.logged(600, 30, seed=3)


@pytest.fixture(scope="session")
def population(small_log):
    return fit_population(small_log.summary(), FitConfig(n_types=8, split_merge=False, seed=0))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture
def uniform_regret():
    """Expected per-step regret of a uniform choice on the candidate stream that the policy tests' ``rollout``
    draws from ``seed`` (candidates ``N(0, I/d)`` then one noise draw per step)."""

    def compute(theta: np.ndarray, steps: int, seed: int, n_actions: int = 20) -> np.ndarray:
        rng = np.random.default_rng(seed)
        d = theta.shape[0]
        out = np.empty(steps)
        for t in range(steps):
            m = (rng.standard_normal((n_actions, d)) / np.sqrt(d)) @ theta
            rng.standard_normal()
            out[t] = m.max() - m.mean()
        return out

    return compute
