import numpy as np
import pytest

from warmstart.families.linear.item_features import (
    ItemFeatureConfig,
    aggregate_entries,
    fit_item_features,
    leave_user_out,
    load_item_features,
    save_item_features,
)


def planted(seed: int = 0, n_users: int = 300, n_items: int = 60, rank: int = 3, frac: float = 0.3):
    """A low-rank-plus-biases reward matrix, observed on a random ``frac`` of its entries with small noise."""
    rng = np.random.default_rng(seed)
    P, Q = rng.normal(size=(n_users, rank)), rng.normal(size=(n_items, rank))
    R = 0.5 + rng.normal(0, 0.5, (n_users, 1)) + rng.normal(0, 0.5, (1, n_items)) + P @ Q.T
    u, i = np.nonzero(rng.random((n_users, n_items)) < frac)
    r = R[u, i] + 0.1 * rng.standard_normal(u.shape[0])
    hold = rng.random(u.shape[0]) < 0.2
    return R, u, i, r, hold


def test_recovers_a_planted_low_rank_matrix_on_held_out_entries():
    R, u, i, r, hold = planted()
    cfg = ItemFeatureConfig(n_factors=3, reg=1.0, bias_reg=1.0, seed=0)
    fit = fit_item_features(u[~hold], i[~hold], r[~hold], n_users=R.shape[0], n_items=R.shape[1], config=cfg)
    pred = fit.predict(u[hold], i[hold])
    rmse = np.sqrt(np.mean((pred - R[u[hold], i[hold]]) ** 2))
    baseline = np.sqrt(np.mean((r[~hold].mean() - R[u[hold], i[hold]]) ** 2))
    assert rmse < 0.2 * baseline, (rmse, baseline)
    # the linear user model holds: reward = x_item . theta_user with x = (1, c_i, q_i)
    assert fit.features.shape == (R.shape[1], 5) and np.all(fit.features[:, 0] == 1.0)
    np.testing.assert_allclose(pred, (fit.user_factors[u[hold]] * fit.features[i[hold]]).sum(1))
    assert fit.converged and fit.loss == sorted(fit.loss, reverse=True)  # ALS never increases the loss


def test_biases_only_matches_the_direct_ridge_solution():
    """With no latent factors the model is additive: compare with one big ridge regression solved directly."""
    rng = np.random.default_rng(1)
    n_users, n_items, n = 12, 7, 60
    u, i = rng.integers(n_users, size=n), rng.integers(n_items, size=n)
    r = rng.normal(size=n)
    cfg = ItemFeatureConfig(n_factors=0, bias_reg=0.7, tol=1e-13, max_iter=5000)
    fit = fit_item_features(u, i, r, n_users=n_users, n_items=n_items, config=cfg)
    mu = r.mean()  # count weighting: every event weighs one
    D = np.hstack([np.eye(n_users)[u], np.eye(n_items)[i]])
    beta = np.linalg.solve(D.T @ D + 0.7 * np.eye(n_users + n_items), D.T @ (r - mu))
    np.testing.assert_allclose(fit.features[:, 1], beta[n_users:], atol=1e-6)
    np.testing.assert_allclose(fit.user_factors[:, 0], mu + beta[:n_users], atol=1e-6)


def test_repeated_entries_are_averaged_and_weighted_by_count():
    u, i, mean, count = aggregate_entries(np.array([0, 0, 1, 0]), np.array([2, 2, 0, 1]),
                                          np.array([1.0, 0.0, 5.0, 3.0]), n_items=3)
    assert list(zip(u.tolist(), i.tolist(), mean.tolist(), count.tolist())) == [
        (0, 1, 3.0, 1.0), (0, 2, 0.5, 2.0), (1, 0, 5.0, 1.0)]


def test_seeded_and_unseen_items_get_the_population_level_only():
    _, u, i, r, _ = planted(seed=2, n_users=80, n_items=20)
    cfg = ItemFeatureConfig(n_factors=2, reg=1.0, seed=3)
    a = fit_item_features(u, i, r, n_items=25, config=cfg)
    b = fit_item_features(u, i, r, n_items=25, config=cfg)
    np.testing.assert_array_equal(a.features, b.features)
    assert a.features.shape == (25, 4)
    np.testing.assert_array_equal(a.features[20:], np.tile([1.0, 0.0, 0.0, 0.0], (5, 1)))
    assert a.item_counts[20:].tolist() == [0.0] * 5
    assert a.diagnostics()["items_without_training_events"] == 5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_factors": -1}, "n_factors: expected a non-negative integer"),
        ({"reg": -1.0}, "reg: expected a finite number >= 0"),
        ({"reg": 0.0}, "reg: expected a positive penalty"),
        ({"weighting": "users"}, "weighting: expected 'count' or 'entry'"),
        ({"max_iter": 0}, "max_iter and tol"),
    ],
)
def test_config_checks_itself(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ItemFeatureConfig(**kwargs)


def test_bad_input_names_the_field():
    with pytest.raises(ValueError, match=r"item: expected shape \(2,\) like reward"):
        fit_item_features(np.array([0, 1]), np.array([0]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="reward: expected finite numbers"):
        fit_item_features(np.array([0]), np.array([0]), np.array([np.nan]))
    with pytest.raises(ValueError, match="user: expected integer indices"):
        fit_item_features(np.array([0.5]), np.array([0]), np.array([1.0]))
    with pytest.raises(ValueError, match="n_users, n_items: expected more than the largest indices"):
        fit_item_features(np.array([3]), np.array([0]), np.array([1.0]), n_users=2)
    with pytest.raises(ValueError, match="at least one event"):
        fit_item_features(np.array([], dtype=int), np.array([], dtype=int), np.array([]))


def test_item_features_file_round_trip_and_errors(tmp_path):
    ids, X = np.array(["a", "b"]), np.array([[1.0, 0.5], [1.0, -2.0]])
    path = save_item_features(tmp_path / "items.npz", ids, X, {"source": "learned"})
    back_ids, back_X, meta = load_item_features(path)
    assert back_ids.tolist() == ["a", "b"] and np.array_equal(back_X, X) and meta["info"] == {"source": "learned"}
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable warmstart item features"):
        load_item_features(tmp_path / "bad.npz")
    with pytest.raises(ValueError, match=r"features: expected shape \(2, d\)"):
        save_item_features(tmp_path / "x.npz", ids, X[:1])


def test_docstring_examples_run(tmp_path, monkeypatch):
    import doctest

    import warmstart.families.linear.item_features as item_features_module

    monkeypatch.chdir(tmp_path)  # the examples write their files here
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE  # as tests/test_doctests.py
    assert doctest.testmod(item_features_module, optionflags=flags).failed == 0


@pytest.mark.parametrize("weighting", ["count", "entry"])
def test_leave_user_out_re_solves_each_item_without_the_events_user(weighting):
    """Against the obvious reference: the item's ridge regression on its other users' entries, with the fit's
    user factors."""
    _, u, i, r, _ = planted(seed=3, n_users=50, n_items=12, rank=2, frac=0.5)
    u, i, r = np.r_[u, u[:5]], np.r_[i, i[:5]], np.r_[r, r[:5] + 0.3]  # a few repeated (user, item) events
    cfg = ItemFeatureConfig(n_factors=2, reg=2.0, bias_reg=1.5, weighting=weighting)
    fit = fit_item_features(u, i, r, n_users=50, n_items=12, config=cfg)
    rows = leave_user_out(fit, u, i, r)
    eu, ei, er, counts = aggregate_entries(u, i, r, 12)
    w = counts if weighting == "count" else np.ones_like(counts)
    for e in (0, 17, 3, len(u) - 1):
        others = (ei == i[e]) & (eu != u[e])
        Z = np.column_stack([np.ones(others.sum()), fit.user_factors[eu[others], 2:]])
        y = er[others] - fit.user_factors[eu[others], 0]  # mu + a_u
        A = Z.T @ (w[others, None] * Z) + np.diag([1.5, 2.0, 2.0])
        beta = np.linalg.solve(A, Z.T @ (w[others] * y))
        np.testing.assert_allclose(rows[e], np.r_[1.0, beta], atol=1e-10)
    with pytest.raises(ValueError, match="user, item: expected the indices the fit was made on"):
        leave_user_out(fit, np.array([50]), np.array([0]), np.array([1.0]))
