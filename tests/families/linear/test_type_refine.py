"""Items refined by the types (``type_refine``): each step against a brute-force reference, and the choice's
record of the rounds."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from warmstart.families.linear.fit import FitConfig, fit_population
from warmstart.families.linear.item_features import ItemFeatureConfig, leave_user_out
from warmstart.families.linear.model import summarise_rows
from warmstart.families.linear.space import SpaceConfig, choose_space, fit_in_space
from warmstart.families.linear.space_features import Space, _factorise, _two_tastes, space_features
from warmstart.families.linear.type_refine import posterior_means, refine_items, refined_fit

ITEMS = ItemFeatureConfig(n_factors=1, reg=1.0, bias_reg=2.0, max_iter=30)
FIT = FitConfig(n_init=1, max_iter=60, seed=0)


def _population(events, features, k=2):
    stats = summarise_rows(events.user, features[events.item], events.reward, events.n_users)
    return fit_population(stats, replace(FIT, n_types=k, split_merge=False))


def test_posterior_means_are_the_mixture_of_each_components_exact_posterior():
    events = _two_tastes(n_users=30, n_items=6, seed=0)
    fit = _factorise(events, ITEMS)
    population = _population(events, fit.features)
    got = posterior_means(events, fit.features, population, chunk=7)
    comps = population.components
    for u in (0, 13, 29):
        rows = events.user == u
        X, r = fit.features[events.item[rows]], events.reward[rows]
        means, logs = [], []
        for k in range(comps.n_components):
            cov, s2 = comps.cov[k], comps.noise_var[k]
            prec = np.linalg.inv(cov) + X.T @ X / s2
            means.append(np.linalg.solve(prec, np.linalg.solve(cov, comps.mu[k]) + X.T @ r / s2))
            pred_cov = X @ cov @ X.T + s2 * np.eye(len(r))
            diff = r - X @ comps.mu[k]
            logs.append(np.log(population.weights[k]) - 0.5 * (np.linalg.slogdet(2 * np.pi * pred_cov)[1]
                                                               + diff @ np.linalg.solve(pred_cov, diff)))
        prob = np.exp(np.array(logs) - max(logs))
        want = (prob / prob.sum()) @ np.array(means)
        np.testing.assert_allclose(got[u], want, rtol=1e-7, atol=1e-9)


def test_refined_items_are_each_items_ridge_regression_on_the_users_posterior_means():
    events = _two_tastes(n_users=30, n_items=6, seed=1)
    fit = _factorise(events, ITEMS)
    population = _population(events, fit.features)
    again = refine_items(events, fit, population)
    theta = posterior_means(events, fit.features, population)
    np.testing.assert_allclose(again.user_factors, theta)
    for i in range(events.n_items):
        rows = events.item == i  # every (user, item) pair once in this log: an entry is an event
        Z, y = theta[events.user[rows], 1:], events.reward[rows] - theta[events.user[rows], 0]
        want = np.linalg.solve(Z.T @ Z + np.diag([ITEMS.bias_reg, ITEMS.reg]), Z.T @ y)
        np.testing.assert_allclose(again.features[i], np.r_[1.0, want], rtol=1e-8, atol=1e-10)


def test_leave_user_out_uses_each_users_own_weight_on_the_item_bias():
    events = _two_tastes(n_users=20, n_items=5, seed=2)
    fit = _factorise(events, ITEMS)
    again = refine_items(events, fit, _population(events, fit.features))
    assert np.ptp(again.user_factors[:, 1]) > 1e-3  # the users' weights on the bias differ from 1
    rows = leave_user_out(again, events.user, events.item, events.reward)
    theta = again.user_factors
    for e in (0, 17, 63):
        u, i = events.user[e], events.item[e]
        others = (events.item == i) & (events.user != u)
        Z = theta[events.user[others], 1:]
        y = events.reward[others] - theta[events.user[others], 0]
        want = np.linalg.solve(Z.T @ Z + np.diag([ITEMS.bias_reg, ITEMS.reg]), Z.T @ y)
        np.testing.assert_allclose(rows[e], np.r_[1.0, want], rtol=1e-8, atol=1e-10)


def test_the_choice_records_every_round_and_round_zero_is_the_tables_score():
    events = _two_tastes(n_users=80, n_items=10, seed=3)
    cfg = SpaceConfig(n_factors=(1,), factor_reg=(1.0,), n_types=(1, 2), item_features=ITEMS, population=FIT,
                      bias_reg=None, type_rounds=2)
    choice = choose_space(events, cfg, seed=0)
    for who in ("ours", "pooled"):
        record = choice.refinement[who]
        assert record["rounds_tried"] == [0, 1, 2]
        assert record["scores"][0] == pytest.approx(choice.score_of(who, refined=False), rel=1e-12)
        assert record["chosen"] == choice.space_of(who).type_rounds == int(np.argmax(record["scores"]))
        assert choice.score_of(who) == pytest.approx(max(record["scores"]))
    assert choice.space_of("from_scratch").type_rounds == 0 and "from_scratch" not in choice.refinement
    plain = choose_space(events, replace(cfg, type_rounds=0), seed=0)
    assert plain.refinement == {} and plain.ours.type_rounds == 0
    assert plain.to_dict()["table"] == choice.to_dict()["table"]  # the rounds come after the table


def test_fit_in_space_refits_the_refined_space_as_refined_fit_does():
    events = _two_tastes(n_users=40, n_items=8, seed=4)
    space = Space(n_factors=1, factor_reg=1.0, type_rounds=2)
    cfg = SpaceConfig(item_features=ITEMS, population=FIT)
    population, learned = fit_in_space(events, space, 2, cfg, seed=0)
    last = refined_fit(events, space, 2, cfg.with_seed(0).item_features, cfg.with_seed(0).population)[-1]
    np.testing.assert_array_equal(learned.features, last.learned.features)
    np.testing.assert_array_equal(population.components.mu, last.population.components.mu)
    assert population.diagnostics.item_features["space"]["type_rounds"] == 2


def test_a_refined_space_needs_the_types_and_content_is_not_refined():
    events = _two_tastes(n_users=20, n_items=6, seed=5)
    with pytest.raises(ValueError, match="needs the types to refine"):
        space_features(events, Space(type_rounds=1), ITEMS)
    with pytest.raises(ValueError, match="learned spaces only"):
        refined_fit(events, Space(content=True, type_rounds=1), 2, ITEMS, FIT)
    with pytest.raises(ValueError, match="type_rounds: expected a non-negative integer, got -1"):
        Space(type_rounds=-1)
    with pytest.raises(ValueError, match="type_rounds: expected a non-negative integer, got 1.5"):
        SpaceConfig(type_rounds=1.5)  # type: ignore[arg-type]
