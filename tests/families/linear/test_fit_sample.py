"""Fitting from a sample first (``init_sample``): the same kind of optimum as a full fit, from fewer passes."""

import numpy as np
import pytest

from warmstart.families.linear.fit import FitConfig, fit_population
from warmstart.sim.linear_types import LinearTypesConfig, LinearTypesPopulation, logged_summary


def test_a_fit_from_a_sample_reaches_the_full_fits_likelihood():
    truth = LinearTypesPopulation(LinearTypesConfig(minority_share=0.1, outlier_share=0.0))
    s = logged_summary(truth, 6000, 20, seed=1)
    cfg = FitConfig(n_types=8, n_init=1, split_merge=False, seed=0)
    full = fit_population(s, cfg)
    sampled = fit_population(s, FitConfig(n_types=8, n_init=1, split_merge=False, seed=0, init_sample=1500))
    d = sampled.diagnostics
    assert d.n_users == 6000 and d.init_sample["n_users"] == 1500 and d.converged
    # EM on all users moved on from the sample's fit, and ends as well as (or better than) the full fit
    assert d.loglik >= full.diagnostics.loglik - 1e-4 * abs(full.diagnostics.loglik)
    # every true type mean is found by some fitted type
    err = np.min(np.linalg.norm(truth.type_means[:, None] - sampled.components.mu[None, :8], axis=-1), axis=1)
    assert err.max() < 0.2, err
    # the sample is drawn from the seed: tests/families/linear/test_backend.py fits with init_sample twice (from
    # shards and from memory) and requires the two populations equal to the last bit


def test_init_sample_is_validated():
    with pytest.raises(ValueError, match="init_sample"):
        FitConfig(init_sample=1)
