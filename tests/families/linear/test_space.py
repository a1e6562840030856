"""Choosing the item space and K on validation users' early events (``warmstart.families.linear.space``)."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from warmstart.data.events import EventData, split_by_first_event
from warmstart.families.linear.belief import BeliefBatch
from warmstart.families.linear.fit import FitConfig, fit_population
from warmstart.families.linear.item_features import ItemFeatureConfig
from warmstart.families.linear.population import Population
from warmstart.families.linear.space import (
    Space,
    SpaceConfig,
    choose_space,
    content_columns,
    early_log_likelihood,
    early_summary,
    fit_chosen_space,
    fit_in_space,
    one_prior,
    space_features,
)

FAST_ITEMS = ItemFeatureConfig(max_iter=40)
FAST_FIT = FitConfig(n_init=1, max_iter=100)


def typed_log(n_users: int, types: np.ndarray, seed: int = 0, n_items: int = 40, per_user: int = 20,
              spread: float = 0.15, noise: float = 0.3, content: bool = False) -> EventData:
    """Users of the given types (rows of ``types``: a user's level and two taste coefficients) in a 2-factor
    item space: ``reward = level + c_i + theta . q_i + noise``; each user rates ``per_user`` of ``n_items``
    items, arriving one after another. ``content``: the log carries ``q_i`` as its own features, with a
    constant column (which the content spaces drop)."""
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(n_items, 2))
    c = 0.3 * rng.normal(size=n_items)
    kind = rng.integers(types.shape[0], size=n_users)
    theta = types[kind] + spread * rng.normal(size=(n_users, 3))
    user = np.repeat(np.arange(n_users), per_user)
    item = np.concatenate([rng.permutation(n_items)[:per_user] for _ in range(n_users)])
    reward = theta[user, 0] + c[item] + np.einsum("ek,ek->e", theta[user, 1:], q[item])
    reward = reward + noise * rng.normal(size=user.shape[0])
    time_ = user * per_user + np.tile(np.arange(per_user), n_users)
    features = np.column_stack([np.ones(n_items), q])[item] if content else None
    return EventData.from_rows(user, time_, [f"i{i:02d}" for i in item], reward, features=features)


THREE_TYPES = np.array([[0.0, 1.5, 0.0], [0.0, -1.5, 0.0], [0.0, 0.0, 1.5]])


def test_three_clear_types_in_a_two_factor_space_choose_factors_and_more_than_one_type():
    events = typed_log(300, THREE_TYPES)
    cfg = SpaceConfig(n_factors=(0, 2), factor_reg=(1.0,), n_types=(1, 2, 4), item_features=FAST_ITEMS,
                      population=FAST_FIT)
    choice = choose_space(events, cfg, seed=0)
    assert choice.n_types > 1 and choice.ours.n_factors >= 2, choice.to_dict()["chosen"]
    assert choice.pooled.n_factors >= 2  # the peer's own best space also needs the factors
    row = choice.row_of("ours")
    assert row.mixture[choice.n_types] > row.mixture[1] + 2 * row.mixture_se[1]
    assert choice.score_of("ours") > choice.score_of("pooled") > choice.score_of("from_scratch")
    ours = choice.to_dict()["chosen"]["ours"]  # the lead over the best other (space, K), paired over users
    runner = ours["runner_up"]
    assert ours["margin"] == pytest.approx(ours["score"] - runner["score"]) and ours["margin"] >= 0
    assert ours["margin_se"] > 0 and (runner["space"], runner["n_types"]) != (choice.ours.name, choice.n_types)


def test_one_gaussian_chooses_one_type():
    events = typed_log(300, np.array([[0.0, 0.5, -0.5]]), spread=0.5, seed=1)
    cfg = SpaceConfig(n_factors=(2,), factor_reg=(1.0,), n_types=(1, 2, 4), item_features=FAST_ITEMS,
                      population=FAST_FIT)
    choice = choose_space(events, cfg, seed=0)
    assert choice.n_types == 1, [r.mixture for r in choice.table]


def test_only_the_given_users_score_the_latest_are_validation_users_and_a_seed_fixes_the_choice():
    events = typed_log(120, THREE_TYPES, seed=2)
    cfg = SpaceConfig(n_factors=(0, 2), factor_reg=(1.0,), n_types=(1, 2), item_features=FAST_ITEMS,
                      population=FAST_FIT)
    first, again = (choose_space(events, cfg, seed=3) for _ in range(2))
    assert set(first.validation_users.tolist()) <= set(events.user_ids.tolist())
    _, later = split_by_first_event(events, 0.8)
    assert first.validation_users.tolist() == events.user_ids[later].tolist()
    assert first.n_fit_users + first.validation_users.shape[0] == events.n_users
    assert first.to_dict() == again.to_dict()  # no wall time in the record: same seed, same record


def test_early_log_likelihood_is_the_sum_of_one_step_predictive_densities_and_a_gaussian_marginal():
    events = typed_log(40, THREE_TYPES, seed=4, per_user=6)
    features = space_features(events, Space(n_factors=2, factor_reg=1.0), FAST_ITEMS).features
    population = fit_population(early_summary(events, features, 6), FitConfig(n_types=2, split_merge=False))
    got = early_log_likelihood(population, early_summary(events, features, n_early=4))
    # the chain rule: a belief fed one event at a time accumulates each step's predictive density
    batch = BeliefBatch.fresh(population, events.n_users)
    users = np.arange(events.n_users)
    for t in range(4):
        rows = events.starts[:-1] + t
        batch.observe(users, features[events.item[rows]], events.reward[rows])
    logp = batch.log_evidence + population.log_weights
    np.testing.assert_allclose(got, np.log(np.exp(logp).sum(1)), rtol=1e-9)
    # one Gaussian prior: the rewards are jointly normal, N(X mu, X S X' + s2 I)
    prior = one_prior(fit_population(early_summary(events, features, 6), FitConfig(n_types=1,
                                                                                    split_merge=False)), "pooled")
    got = early_log_likelihood(prior, early_summary(events, features, n_early=4))
    mu, S, s2 = prior.components.mu[0], prior.components.cov[0], prior.components.noise_var[0]
    for u in (0, 7, 39):
        rows = np.arange(events.starts[u], events.starts[u] + 4)
        X = features[events.item[rows]]
        ref = multivariate_normal(X @ mu, X @ S @ X.T + s2 * np.eye(4)).logpdf(events.reward[rows])
        assert got[u] == pytest.approx(ref, rel=1e-9)


def test_from_scratch_prior_is_zero_mean_with_the_k1_second_moment():
    events = typed_log(40, THREE_TYPES, seed=5, per_user=6)
    features = space_features(events, Space(), FAST_ITEMS).features
    k1 = fit_population(early_summary(events, features, 6), FitConfig(n_types=1, split_merge=False))
    prior = one_prior(k1, "from_scratch")
    mu, cov = k1.components.mu[0], k1.components.cov[0]
    v = np.trace(cov + np.outer(mu, mu)) / 2
    np.testing.assert_allclose(prior.components.cov[0], v * np.eye(2))
    assert prior.components.mu[0].tolist() == [0.0, 0.0]
    assert prior.components.noise_var[0] == k1.components.noise_var[0]
    with pytest.raises(ValueError, match="peer: expected 'pooled' or 'from_scratch'"):
        one_prior(k1, "nope")


def test_content_spaces_hold_the_bias_and_drop_a_constant_column():
    events = typed_log(60, THREE_TYPES, seed=6, content=True)
    cols, kept = content_columns(events.features)
    assert kept == [1, 2] and cols.shape == (events.n_items, 2)
    learned = space_features(events, Space(content=True), FAST_ITEMS)
    X, info = learned.features, learned.info
    assert X.shape == (events.n_items, 4) and (X[:, 0] == 1).all()
    np.testing.assert_array_equal(X[:, 2:], events.features[:, 1:])
    np.testing.assert_array_equal(learned.rows[:, 2:], events.features[events.item, 1:])
    assert info["dropped_content_columns"] == [0] and info["space"]["name"] == "content + bias"
    assert info["source"] == "log+learned"
    assert info["feature_names"] == ["overall level", "item popularity", "f_1", "f_2"]
    assert len(SpaceConfig(n_factors=(0,), content_factors=(0,)).spaces(has_content=True)) == 2
    with pytest.raises(ValueError, match="space: 'content \\+ bias' needs the log's own item features"):
        space_features(typed_log(20, THREE_TYPES), Space(content=True), FAST_ITEMS)


def test_the_choice_survives_save_and_load(tmp_path):
    events = typed_log(80, THREE_TYPES, seed=7, content=True)
    cfg = SpaceConfig(n_factors=(0,), content_factors=(0,), n_types=(1, 2), item_features=FAST_ITEMS,
                      population=FAST_FIT)
    population, learned = fit_chosen_space(events, cfg, seed=0)
    again = Population.load(population.save(tmp_path / "p.npz"))
    assert again.diagnostics.space == population.diagnostics.space
    assert again.diagnostics.selection == "early events"
    table = again.diagnostics.space["table"]
    assert [row["space"]["name"] for row in table] == ["bias", "content + bias"]
    assert set(table[0]["mixture"]) == {"1", "2"} and table[0]["se"]["pooled"] > 0
    chosen = again.diagnostics.space["chosen"]["ours"]
    assert population.n_types == chosen["n_types"] and learned.features.shape[1] == population.dim
    assert again.diagnostics.item_features["space"] == chosen["space"]


def test_fit_in_space_fixes_k_and_says_which_space():
    events = typed_log(60, THREE_TYPES, seed=8)
    population, learned = fit_in_space(events, Space(n_factors=2, factor_reg=1.0), 3,
                                       SpaceConfig(item_features=FAST_ITEMS, population=FAST_FIT))
    assert population.n_types == 3 and learned.features.shape == (events.n_items, 4)
    # the population is fitted on each event's features without its own user, not on the items' features
    assert not np.allclose(learned.rows, learned.features[events.item])
    assert population.diagnostics.n_events == events.n_events
    assert population.diagnostics.selection == "fixed" and population.diagnostics.moves == []
    assert population.diagnostics.item_features["factorisation"]["config"]["reg"] == 1.0


def test_the_choice_keeps_ours_fit_as_a_refit_on_the_fitting_users_gives_it():
    events = typed_log(80, THREE_TYPES, seed=8)
    cfg = SpaceConfig(n_factors=(0, 2), factor_reg=(1.0,), n_types=(1, 3), item_features=FAST_ITEMS,
                      population=FAST_FIT)
    choice = choose_space(events, cfg, seed=4)
    assert choice.ours_fit is not None
    kept, kept_learned = choice.ours_fit
    fit_idx, _ = split_by_first_event(events, 1.0 - cfg.validation_fraction)
    refit, learned = fit_in_space(events.subset(fit_idx), choice.ours, choice.n_types, choice.config, 4)
    assert kept.n_types == refit.n_types == choice.n_types
    np.testing.assert_array_equal(kept_learned.features, learned.features)
    np.testing.assert_array_equal(kept_learned.rows, learned.rows)  # what choose_family fits the logistic on
    np.testing.assert_array_equal(kept.weights, refit.weights)
    for name in ("mu", "cov", "noise_var"):
        np.testing.assert_array_equal(getattr(kept.components, name), getattr(refit.components, name))
    assert "ours_fit" not in choice.to_dict()


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"n_factors": ()}, r"n_factors: expected distinct integers >= 0 \(at least one\), got \[\]"),
    ({"n_factors": (2, 2)}, "n_factors: expected distinct integers"),
    ({"n_factors": (-1,)}, "n_factors: expected distinct integers >= 0"),
    ({"content_factors": (1.5,)}, "content_factors: expected distinct integers >= 0"),
    ({"factor_reg": (0.0,)}, "factor_reg: expected distinct positive penalties"),
    ({"factor_reg": ()}, "factor_reg: expected distinct positive penalties"),
    ({"n_types": (0, 1)}, "n_types: expected distinct integers >= 1"),
    ({"n_types": ()}, "n_types: expected distinct integers >= 1"),
    ({"validation_fraction": 1.0}, r"validation_fraction: expected a value in \(0, 1\)"),
    ({"n_early": 0}, "n_early: expected a positive number of events"),
])
def test_bad_config_errors_name_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SpaceConfig(**kwargs)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"n_factors": -1}, "n_factors: expected a non-negative integer"),
    ({"n_factors": 2}, "factor_reg: expected a positive penalty with latent factors"),
    ({"factor_reg": 5.0}, "factor_reg: expected None without latent factors"),
])
def test_bad_spaces_name_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Space(**kwargs)


def test_an_item_only_one_training_user_had_does_not_leak_their_reward():
    """Every event its own item (as in a simulator's log): in-sample, the item bias would fit each reward; left
    out of its own item, every event's learned features are those of an unseen item."""
    rng = np.random.default_rng(9)
    n_users, per_user = 30, 5
    user = np.repeat(np.arange(n_users), per_user)
    reward = rng.normal(size=user.shape[0])
    events = EventData.from_rows(user, np.arange(user.shape[0]), [f"e{r:03d}" for r in range(user.shape[0])],
                                 reward)
    learned = space_features(events, Space(n_factors=2, factor_reg=1.0), FAST_ITEMS)
    assert np.abs(learned.features[:, 1]).max() > 0.05  # the full fit's biases carry the rewards
    np.testing.assert_allclose(learned.rows, np.column_stack([np.ones(user.shape[0]), np.zeros((user.shape[0], 3))]),
                               atol=1e-12)


def test_a_single_k_fixes_ours_and_the_peers_still_get_k_1():
    events = typed_log(120, THREE_TYPES, seed=2)
    cfg = SpaceConfig(n_factors=(0, 2), factor_reg=(1.0,), n_types=(3,), item_features=FAST_ITEMS,
                      population=FAST_FIT)
    choice = choose_space(events, cfg, seed=0)
    assert choice.n_types == 3 and all(set(r.mixture) == {3} for r in choice.table)
    assert all(np.isfinite(r.pooled) and np.isfinite(r.from_scratch) for r in choice.table)
    with pytest.raises(ValueError, match="n_types: expected a K below the 96 fitting users"):
        choose_space(events, SpaceConfig(n_factors=(0,), n_types=(96,)), seed=0)


def test_too_few_users_to_split_is_an_error():
    events = typed_log(2, THREE_TYPES)
    with pytest.raises(ValueError, match="events: expected at least 2 fitting users"):
        choose_space(events, SpaceConfig(n_factors=(0,), n_types=(1,)))
