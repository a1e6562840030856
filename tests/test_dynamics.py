"""Learned response dynamics: the states from timestamps, the choice of decays and habit categories, the planner
with a learned model, the population file's record, and the benchmark in a tiny configuration."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from warmstart.bench.coldstart import type_mapping
from warmstart.bench.dynamics import (
    DynamicsBenchConfig,
    log_events,
    run_dynamics_satiation,
    simultaneous_band,
)
from warmstart.bench.satiation import SatiationBenchConfig
from warmstart.families.linear.dynamic_family import decode_spec
from warmstart.families.linear.dynamics import DynamicsSpec, LearnedDynamics, history_states
from warmstart.families.linear.dynamics_fit import (
    DynamicsFitConfig,
    _example_data,
    _example_fit,
    choose_dynamics,
    choose_n_types,
    dynamics_spec,
    learned_dynamics,
)
from warmstart.families.linear.dynamics_search import decay_profile, log2_half_life, resampled_half_life
from warmstart.families.linear.fit import FitConfig, fit_population
from warmstart.families.linear.population import Population
from warmstart.families.registry import load_population
from warmstart.policies.planning import HabitPlanner
from warmstart.sim.satiation import SatiationConfig, SatiationDynamics, SatiationPopulation


def test_states_from_a_simulator_log_equal_its_features():
    truth = SatiationPopulation(SatiationConfig())
    log = truth.logged(n_users=20, n_events=15, seed=1)
    data = log_events(log)
    spec = DynamicsSpec(n_categories=6, exposure_decay=0.7, habit_decay=0.95, habit_categories=(5,))
    np.testing.assert_allclose(data.rows(spec), log.chosen.reshape(-1, 13), atol=1e-12)


def test_states_decay_with_the_time_between_events():
    spec = DynamicsSpec(n_categories=2, exposure_decay=0.5, habit_decay=0.8, habit_categories=(0,), time_unit=10.0)
    times = np.array([0.0, 10.0, 40.0, 0.0])              # user 0: gaps of 1 and 3 units; user 1 starts afresh
    cats = np.eye(2)[[0, 1, 0, 0]]
    st = history_states(np.array([0, 0, 0, 1]), times, cats, spec)
    assert st.exposure.tolist() == [[0, 0], [1, 0], [0.5**3, 0.5**2], [0, 0]]
    assert st.habit[:, 0].tolist() == pytest.approx([0, 1, 0.8**3, 0])
    assert st.count.tolist() == [[0, 0], [1, 0], [1, 1], [0, 0]]
    with pytest.raises(ValueError, match="time order"):
        history_states(np.array([0, 0]), np.array([2.0, 1.0]), np.eye(2)[[0, 1]], spec)


def test_the_choice_recovers_a_known_exposure_decay_and_the_habit_category():
    data = _example_data(n_users=200, seed=3)             # exposure decay 0.7 (half-life 1.94), category 1's habit
    cfg = DynamicsFitConfig(exposure_half_lives=(0.5, 1.0, 2.0, 4.0, 8.0), habit_half_lives=(8.0, 16.0, 32.0),
                            refine_steps=2, polish_steps=0, practice=False,
                            fit=FitConfig(n_types=2, split_merge=False))
    spec, record = choose_dynamics(data, cfg)
    assert spec.habit_categories == (1,)
    # the grid steps by factors of 2; refined off it, the choice on this log is 1.95 against the true 1.94
    # (2.0, a grid point, without the continuous search); 0.2 in log2 is a few of its standard errors
    assert abs(math.log2(spec.half_lives()[0] / 1.943)) <= 0.2
    assert record["habit_tests"]["chosen"] == [1] and record["habit_tests"]["z"][1] < -3


def test_the_decays_are_refined_off_the_grid_to_the_criterions_maximum():
    # the grid and pattern steps alone leave a decay on a lattice (here 16, a grid point, for the habit's
    # half-life) where the criterion's maximum lies between points (about 12 on this log): the continuous
    # search lands on the maximum a brute-force scan of the criterion finds, to within the scan's spacing
    data = _example_data(n_users=200, seed=3)
    cfg = DynamicsFitConfig(exposure_half_lives=(1.0, 2.0, 4.0), habit_half_lives=(8.0, 16.0, 32.0),
                            refine_steps=0, polish_steps=0, practice=False, search_max_iter=100,
                            fit=FitConfig(n_types=2))
    on_grid, grid_record = choose_dynamics(data, replace(cfg, decay_tol=None))
    spec, record = choose_dynamics(data, cfg)
    assert on_grid.half_lives() == pytest.approx((2.0, 16.0))
    for which in ("exposure_decay", "habit_decay"):
        x = log2_half_life(spec, which) + np.linspace(-0.6, 0.6, 25)          # a scan 0.05 apart
        scan = decay_profile(data.summary, spec, which, x, max_iter=100).sum(1)     # the choice's criterion
        assert abs(log2_half_life(spec, which) - x[np.argmax(scan)]) <= 0.06, (which, 2 ** x[np.argmax(scan)])
    assert abs(log2_half_life(on_grid, "habit_decay") - log2_half_life(spec, "habit_decay")) > 0.3
    assert record["loglik"] > grid_record["loglik"] + 1.0                     # the criterion's own gain


def test_a_resample_rechooses_the_decay_as_refitting_it_would():
    # the bootstrap re-chooses the decays from the users' terms of the criterion at the full data's fits,
    # re-weighted by a resample; refitting the one-type model on each resample and each candidate (the
    # brute force) gives nearly the same choice, and the choices spread (the decay's uncertainty is in the CIs)
    data = _example_data(n_users=150, seed=1)
    spec = DynamicsSpec(n_categories=2, exposure_decay=0.7, habit_decay=0.95, habit_categories=(1,))
    x = log2_half_life(spec, "exposure_decay") + np.linspace(-0.4, 0.4, 9)
    terms = decay_profile(data.summary, spec, "exposure_decay", x, max_iter=100)
    rng = np.random.default_rng(0)
    fast, brute = [], []
    for _ in range(12):
        idx = rng.integers(data.n_users, size=data.n_users)
        fast.append(resampled_half_life(x, terms, np.bincount(idx, minlength=data.n_users)))
        refit = decay_profile(lambda s, idx=idx: data.summary(s)[idx], spec, "exposure_decay", x, 100).sum(1)
        brute.append(resampled_half_life(x, refit[:, None], np.ones(1)))
    fast_a, brute_a = np.array(fast), np.array(brute)
    assert np.std(brute_a) > 0.02                           # the decay does vary between resamples
    assert np.mean(np.abs(fast_a - brute_a)) < 0.25 * np.std(brute_a), (fast, brute)


def test_the_habit_category_of_a_small_satiation_log_is_found():
    # 300 users of Satiation-v0, 50 uniform-random events each: the clickbait category (5) builds a habit
    # whose harm is 0.075 for the susceptible types and 0.005 for the others; the one-sided Wald test of the
    # population-mean coefficient finds it and only it
    truth = SatiationPopulation(SatiationConfig())
    data = log_events(truth.logged(n_users=300, n_events=50, seed=2))
    cfg = DynamicsFitConfig(exposure_half_lives=(2.0,), habit_half_lives=(8.0, 16.0), refine_steps=0,
                            polish_steps=0, practice=False, search_max_iter=60, decay_tol=None,
                            fit=FitConfig(n_types=2, split_merge=False))
    spec, record = choose_dynamics(data, cfg)
    assert spec.habit_categories == (5,), record["habit_tests"]
    assert spec.half_lives() == pytest.approx((2.0, 16.0))


def test_k_on_validation_users_finds_the_types_bic_merges():
    # the recovery target's first failure: K by BIC with full covariances (105 parameters a type for
    # Satiation-v0's 13 columns) merged real types, on the simulator's own features too; K by the validation
    # users' early events keeps every big type (1,000 users, the true structure, so that only K is at stake)
    truth = SatiationPopulation(SatiationConfig())
    log = truth.logged(n_users=1000, n_events=50, seed=2)
    data = log_events(log)
    spec = DynamicsSpec(n_categories=6, exposure_decay=0.7, habit_decay=0.95, habit_categories=(5,))
    summary = data.summary(spec)
    big = {0, 1, 2, 3}                                     # the four types of 23% each (the fifth is 5%)
    fit = FitConfig(k_range=(2, 5), n_init=1, split_merge=False)
    bic = fit_population(summary, fit)
    assert not big <= set(type_mapping(bic, summary, log.users.type_id).tolist()), bic.n_types
    k, table = choose_n_types(data, spec, DynamicsFitConfig(fit=fit))
    assert table["n_validation"] == 200 and table["path"][0]["K"] == 2
    chosen = fit_population(summary, replace(fit, n_types=k))
    assert big <= set(type_mapping(chosen, summary, log.users.type_id).tolist()), (k, table["path"])


def test_the_simultaneous_band_covers_all_at_its_level_where_per_parameter_intervals_do_not():
    # 20 estimates, each N(truth, 1), with bootstrap-like replicates N(estimate, 1): every 95% per-parameter
    # interval covers in about 0.95 ** 20 = 36% of the trials, the simultaneous band in about 95%
    rng = np.random.default_rng(0)
    all_marginal = all_band = 0
    trials = 300
    for _ in range(trials):
        estimate = rng.standard_normal(20)
        reps = estimate + rng.standard_normal((400, 20))
        lo, hi = np.percentile(reps, [2.5, 97.5], axis=0)
        band, c = simultaneous_band(estimate, reps)
        all_marginal += bool(np.all((lo <= 0) & (0 <= hi)))
        all_band += bool(np.all((band[0] <= 0) & (0 <= band[1])))
    assert 0.25 < all_marginal / trials < 0.48
    assert 0.91 < all_band / trials < 0.985
    nan_reps = np.column_stack([rng.standard_normal(100), np.full(100, np.nan)])
    band, c = simultaneous_band(np.array([0.0, np.nan]), nan_reps)      # a NaN entry is left out
    assert math.isfinite(c) and np.isnan(band[:, 1]).all()


def test_planning_with_a_learned_model_equals_planning_with_the_same_dynamics_given():
    given = SatiationDynamics(n_categories=3, exposure_decay=0.6, habit_decay=0.9, clickbait=(2,))
    learned = LearnedDynamics(DynamicsSpec(n_categories=3, exposure_decay=0.6, habit_decay=0.9, habit_categories=(2,)))
    state = learned.new_state()
    e, h = np.zeros(3), np.zeros(())
    for a in (2, 0, 2):
        state = learned.step(state, a)
        e, h = given.advance(e, h, np.asarray(a))
    X = learned.candidates(state)
    np.testing.assert_allclose(X, given.features(e, h))
    thetas = np.array([[1.0, 1.1, 1.6, -0.3, -0.2, -0.1, -0.08], [1.0, 0.9, 1.2, -0.3, -0.3, -0.1, 0.0]])
    np.testing.assert_allclose(HabitPlanner(learned, depth=3).values(thetas, X),
                               HabitPlanner(given, depth=3).values(thetas, X))


def test_planner_without_a_habit_stock_and_with_practice_held_over_the_lookahead():
    learned = LearnedDynamics(DynamicsSpec(n_categories=2, exposure_decay=0.5, practice=True))
    state = learned.step(learned.step(learned.new_state(), 0), 0)
    X = learned.candidates(state)
    assert learned.dim == 6 and learned.habit_column is None and X[0, 4] == pytest.approx(math.log(3))
    theta = np.array([[1.0, 1.0, -0.5, -0.5, 1.0, 1.0]])    # practice pays: category 0, practised twice
    myopic = HabitPlanner(None).values(theta, X)
    planned = HabitPlanner(learned, depth=1).values(theta, X)
    np.testing.assert_allclose(planned, myopic)              # one step: the plan is the myopic value


def test_the_population_file_keeps_the_dynamics():
    population, spec = _example_fit()
    again = Population.from_bytes(population.to_bytes())
    assert dynamics_spec(again) == spec and learned_dynamics(again).dim == again.dim
    record = dict(population.diagnostics.dynamics or {}, format_version=99)
    bad = replace(population, diagnostics=population.diagnostics.replace(dynamics=record))
    with pytest.raises(ValueError, match="format version"):
        dynamics_spec(bad)
    with pytest.raises(ValueError, match="learned dynamics"):
        dynamics_spec(replace(population, diagnostics=population.diagnostics.replace(dynamics=None)))


def test_bench_dynamics_tiny_run(tmp_path):
    sat = replace(SatiationBenchConfig.make(quick=True), n_train_users=150, n_train_events=30, n_users=3, steps=6,
                  n_bootstrap=50)
    dyn = DynamicsFitConfig(exposure_half_lives=(1.0, 2.0), habit_half_lives=(8.0, 16.0), refine_steps=0,
                            polish_steps=0, practice=False, search_max_iter=60,
                            fit=FitConfig(n_types=2, split_merge=False))
    saved = tmp_path / "dynamics-population.npz"
    doc = run_dynamics_satiation(DynamicsBenchConfig(satiation=sat, dynamics=dyn, n_recovery=2),
                                 population_out=saved)
    # the fitted population is saved as the linear_dynamics family's file, with the structure chosen
    population = load_population(saved)
    # its types are the fit's K and the novel component, with the same weights
    assert population.family == "linear_dynamics" and population.n_types == doc["fit"]["selected_k"] + 1
    np.testing.assert_allclose(population.weights, doc["fit"]["weights"])
    assert decode_spec(population.params).to_dict() == doc["chosen"]["spec"]
    assert set(doc["policies"]) == {"mixture_plan", "mixture_plan_given", "mixture_ts", "mixture_ts_learned",
                                    "oracle_plan", "oracle"}
    assert all(math.isfinite(p["long_term"]) for p in doc["policies"].values())
    assert math.isfinite(doc["learned_gain_share"]) and len(doc["learned_gain_share_ci95"]) == 2
    assert set(doc["recovery"]["per_type"]) == {"0", "1", "2", "3", "4"}
    assert doc["recovery"]["n_bootstrap"] == 2 and "met_simultaneous" in doc["recovery"]
    # the decays are re-chosen on each resample: their CIs are not a point
    boot = doc["recovery"]["decay_bootstrap"]
    assert set(boot) == {"exposure_decay", "habit_decay"} and boot["exposure_decay"]["half_life_ci95"][1] > \
        boot["exposure_decay"]["half_life_ci95"][0]
    assert doc["chosen"]["spec"]["n_categories"] == 6
