"""Shared fixtures: a small simulated population and a fitted population, built once per session."""

from __future__ import annotations

import numpy as np
import pytest

from warmstart.population.fit import FitConfig, fit_population
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
