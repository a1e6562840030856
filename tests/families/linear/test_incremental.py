"""Incremental fit: EM over new users only with the earlier users' sums kept, against a full refit."""

import numpy as np
import pytest

from warmstart.families.linear.fit import FitConfig, _pass, fit_population
from warmstart.families.linear.incremental import EMSums, em_sums, fit_incremental
from warmstart.families.linear.model import Summary
from warmstart.sim.linear_types import LinearTypesConfig, LinearTypesPopulation, logged_summary

CFG = FitConfig(n_types=8, n_init=1, split_merge=False, seed=0)


@pytest.fixture(scope="module")
def setting():
    truth = LinearTypesPopulation(LinearTypesConfig())
    old, new, held = (logged_summary(truth, n, 20, seed=s) for n, s in ((6000, 0), (600, 1), (3000, 2)))
    return old, new, held, fit_population(old, CFG)


def _heldout(held, pop):
    return _pass(held, pop.components, pop.weights, 2000, moments=False)[0]


def test_incremental_fit_matches_a_full_refit_on_held_out_users(setting, tmp_path):
    old, new, held, pop = setting
    sums = em_sums(old, pop)
    inc, everyone = fit_incremental(pop, sums, new)
    full = fit_population(Summary.concatenate([old, new]), CFG)
    assert abs(_heldout(held, inc) - _heldout(held, full)) <= 0.01 * abs(_heldout(held, full))
    assert inc.diagnostics.incremental["new_users"] == 600 and everyone.n_users == 6600
    assert everyone.fingerprint == inc.fingerprint() and inc.fingerprint() != pop.fingerprint()
    # the sums handed on are the earlier ones plus the new users' at the returned parameters
    np.testing.assert_allclose(everyone.W, sums.W + em_sums(new, inc).W, rtol=1e-10)
    everyone.save(tmp_path / "sums.npz")
    back = EMSums.load(tmp_path / "sums.npz")
    assert back.n_users == 6600 and np.array_equal(back.Smm, everyone.Smm)


def test_the_earlier_sums_carry_the_earlier_users(setting):
    old, new, _, pop = setting
    # with no earlier sums the "new" users alone would decide the fit; with them, 600 users move it little
    inc, _ = fit_incremental(pop, em_sums(old, pop), new)
    assert np.abs(inc.components.mu - pop.components.mu).max() < 0.1


def test_errors_are_named(setting, tmp_path):
    _, new, _, pop = setting
    other = fit_population(new, FitConfig(n_types=3, n_init=1, split_merge=False))
    with pytest.raises(ValueError, match="fingerprint"):
        fit_incremental(pop, em_sums(new, other), new)
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable warmstart EM sums"):
        EMSums.load(tmp_path / "bad.npz")
