"""The Open Bandit Dataset sample loader (counts of SOURCE.md), the BTS action distribution and the headline run."""

from __future__ import annotations

import os

import numpy as np
import pytest
from scipy import integrate, stats

from warmstart.ope import OPEResult, bts_action_dist, click_model, load_obd, obd_root, run_ope_obd
from warmstart.ope.obd import ZOZOTOWN_PRIOR_ALPHA, ZOZOTOWN_PRIOR_BETA, obp_copies

try:
    ROOT = obd_root()
except ValueError:  # pragma: no cover - `make test` installs obp (with the sample) in .venv-obp first
    ROOT = None
needs_data = pytest.mark.skipif(ROOT is None and not os.environ.get("CI"),
                                reason="open-bandit-dataset-small not found: it comes with obp, `make obp-venv`")

# from SOURCE.md: items, clicks (CTR x 10,000 rows), propensity min and max
COUNTS = {
    ("bts", "all"): (80, 42, 4.5e-05, 0.954),
    ("bts", "men"): (34, 69, 1.65e-04, 0.725),
    ("bts", "women"): (46, 46, 1e-06, 0.963),
    ("random", "all"): (80, 38, 0.0125, 0.0125),
    ("random", "men"): (34, 46, 1 / 34, 1 / 34),
    ("random", "women"): (46, 46, 1 / 46, 1 / 46),
}


@needs_data
def test_obps_copy_is_the_fallback_and_equals_the_shared_files(tmp_path, monkeypatch):
    monkeypatch.setenv("WARMSTART_DATA", str(tmp_path))  # nothing there: obp's copy answers
    copies = obp_copies()
    assert copies and obd_root() == copies[0]
    assert copies[0].parts[-3:] == ("obp", "dataset", "obd")
    if ROOT != copies[0]:  # ../shared/data is here too: the files we read are the same bytes
        for f in sorted(ROOT.glob("*/*/*.csv")):
            assert (copies[0] / f.relative_to(ROOT)).read_bytes() == f.read_bytes(), f


@needs_data
@pytest.mark.parametrize(("policy", "campaign"), list(COUNTS))
def test_counts_match_source_md(policy, campaign):
    log = load_obd(policy, campaign, ROOT)
    n_items, clicks, p_min, p_max = COUNTS[policy, campaign]
    assert log.n == 10_000
    assert (log.n_actions, log.len_list) == (n_items, 3)
    assert int(log.reward.sum()) == clicks
    assert log.pscore.min() == pytest.approx(p_min, rel=5e-3)
    assert log.pscore.max() == pytest.approx(p_max, rel=5e-3)
    assert log.action.dtype == log.position.dtype == log.reward.dtype == np.int64
    assert set(np.unique(log.position)) == {0, 1, 2}
    assert np.all(np.diff(log.timestamp.astype(np.int64)) >= 0)
    assert log.item_feature_0.shape == (n_items,)
    assert len(ZOZOTOWN_PRIOR_ALPHA[campaign]) == len(ZOZOTOWN_PRIOR_BETA[campaign]) == n_items


def test_root_and_choice_errors(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="^root: expected"):
        obd_root(tmp_path)
    monkeypatch.setenv("WARMSTART_DATA", str(tmp_path))
    with pytest.raises(ValueError, match="WARMSTART_DATA"):
        obd_root(search_shipped=False)
    with pytest.raises(ValueError, match="^campaign: expected one of all, men, women, got 'kids'"):
        load_obd("random", "kids", tmp_path)
    with pytest.raises(ValueError, match="^policy: expected"):
        load_obd("ucb", "all", tmp_path)


def test_bts_action_dist_two_items_against_integral():
    """With two items and one slot, P(item 0 shown) = P(theta_0 > theta_1), an integral of Beta densities."""
    a, b = np.array([3.0, 2.0]), np.array([20.0, 15.0])
    exact, _ = integrate.quad(lambda x: stats.beta.pdf(x, a[0], b[0]) * stats.beta.cdf(x, a[1], b[1]), 0, 1)
    dist = bts_action_dist(2, 1, 4, n_sim=200_000, seed=0, alpha=a, beta=b)
    assert dist.shape == (4, 2, 1)
    assert np.all(dist == dist[0])
    assert dist[0, 0, 0] == pytest.approx(exact, abs=4 * np.sqrt(exact * (1 - exact) / 200_000))


def test_bts_action_dist_is_a_seeded_distribution_per_slot():
    d = bts_action_dist(80, 3, 2, n_sim=5_000, seed=1)
    assert d.shape == (2, 80, 3)
    np.testing.assert_allclose(d.sum(axis=1), 1.0)
    assert np.array_equal(d, bts_action_dist(80, 3, 2, n_sim=5_000, seed=1))
    assert not np.array_equal(d, bts_action_dist(80, 3, 2, n_sim=5_000, seed=2))
    # equal priors: every item equally likely at every slot
    flat = bts_action_dist(4, 2, 1, n_sim=40_000, seed=0, alpha=np.ones(4), beta=np.ones(4))[0]
    np.testing.assert_allclose(flat, 0.25, atol=0.01)


def test_bts_action_dist_errors():
    with pytest.raises(ValueError, match="^alpha: expected 34 prior values"):
        bts_action_dist(34, 3, 1, n_sim=10, campaign="all")
    with pytest.raises(ValueError, match="^len_list: expected"):
        bts_action_dist(2, 3, 1, n_sim=10, alpha=np.ones(2), beta=np.ones(2))
    with pytest.raises(ValueError, match="^n_sim: expected a positive integer"):
        bts_action_dist(80, 3, 1, n_sim=0)
    with pytest.raises(ValueError, match="^beta: expected finite positive"):
        bts_action_dist(2, 1, 1, n_sim=10, alpha=np.ones(2), beta=np.array([1.0, -1.0]))


@needs_data
def test_click_model_is_cross_fitted_and_shrunk():
    log = load_obd("random", "men", ROOT)
    q = click_model(log, smoothing=50.0, n_folds=3, seed=0)
    assert q.shape == (log.n, log.n_actions, log.len_list)
    assert np.all((q >= 0) & (q <= 1))
    assert len({q[i].tobytes() for i in range(0, log.n, 97)}) == 3  # one model per fold
    one = click_model(log, smoothing=50.0, n_folds=1)
    assert np.all(one == one[0])
    # huge smoothing: every (item, slot) is pulled to its slot's click rate
    flat = click_model(log, smoothing=1e12, n_folds=1)[0]
    slot_ctr = np.array([log.reward[log.position == k].mean() for k in range(3)])
    np.testing.assert_allclose(flat, np.tile(slot_ctr, (log.n_actions, 1)), rtol=1e-6)
    with pytest.raises(ValueError, match="^smoothing: expected"):
        click_model(log, smoothing=0.0)


@needs_data
def test_run_ope_obd_headline():
    out = run_ope_obd("all", n_sim=5_000, seed=0, n_boot=200, root=ROOT)
    for key in ("ips", "snips", "dm", "dr", "on_policy_ctr_bts", "on_policy_ctr_random"):
        r = out[key]
        assert isinstance(r, OPEResult)
        assert r.ci95[0] <= r.estimate <= r.ci95[1]
        assert 0.0 < r.estimate < 0.05
    assert out["on_policy_ctr_bts"].estimate == pytest.approx(0.0042)
    assert out["n_actions"] == 80 and out["len_list"] == 3
    assert run_ope_obd("all", n_sim=5_000, seed=0, n_boot=200, root=ROOT)["ips"] == out["ips"]
