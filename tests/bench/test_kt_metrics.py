import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warmstart.bench.kt_metrics import (
    auc,
    bootstrap_auc_ci,
    by_bucket,
    log_loss,
    rmse,
    score_predictions,
)
from warmstart.stats import weighted_auc


def brute_auc(y, p):
    """Count every (correct, incorrect) pair: 1 when the correct one has the higher p, 1/2 on a tie."""
    pos = [pi for yi, pi in zip(y, p) if yi == 1]
    neg = [pi for yi, pi in zip(y, p) if yi == 0]
    if not pos or not neg:
        return math.nan
    wins = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in pos for b in neg)
    return wins / (len(pos) * len(neg))


responses = st.lists(st.tuples(st.integers(0, 1), st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.7, 0.9, 1.0])),
                     min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(responses)
def test_auc_matches_pairwise_count(rows):
    y, p = zip(*rows)
    expected = brute_auc(y, p)
    got = auc(np.array(y), np.array(p))
    assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(responses, st.data())
def test_weighted_auc_equals_auc_of_repeated_rows(rows, data):
    y, p = (np.array(v) for v in zip(*rows))
    w = np.array(data.draw(st.lists(st.integers(0, 3), min_size=len(y), max_size=len(y))))
    order = np.argsort(p, kind="stable")
    starts = np.flatnonzero(np.r_[True, p[order][1:] != p[order][:-1]])
    got = weighted_auc(y[order].astype(float), starts, w[order][None, :].astype(float))[0]
    expected = auc(np.repeat(y, w), np.repeat(p, w)) if w.sum() else math.nan
    assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected, abs=1e-12)


def test_auc_known_values():
    assert auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    assert auc([0, 1], [0.3, 0.3]) == 0.5
    assert auc([1, 0], [0.9, 0.1]) == 1.0
    assert math.isnan(auc([1, 1], [0.2, 0.3]))


def test_log_loss_and_rmse():
    y, p = np.array([1, 0, 1]), np.array([0.8, 0.3, 0.6])
    assert log_loss(y, p) == pytest.approx(-(math.log(0.8) + math.log(0.7) + math.log(0.6)) / 3)
    assert rmse(y, p) == pytest.approx(math.sqrt((0.04 + 0.09 + 0.16) / 3))
    assert math.isfinite(log_loss([1, 0], [0.0, 1.0]))  # clipped
    assert log_loss([1, 0], [0.0, 1.0]) == pytest.approx(-math.log(1e-7))


@pytest.mark.parametrize(
    ("y", "p", "match"),
    [([0, 2], [0.1, 0.2], "y: expected 0 or 1"), ([0, 1], [0.1, 1.2], "p: expected probabilities"),
     ([0, 1], [0.1, np.nan], "p: expected finite"), ([0, 1], [0.1], "p: expected shape"),
     ([[0, 1]], [[0.1, 0.2]], "y: expected shape")],
)
def test_bad_inputs_name_the_field(y, p, match):
    for f in (auc, log_loss, rmse):
        with pytest.raises(ValueError, match=match):
            f(y, p)


def synthetic(n_students=300, seed=0):
    rng = np.random.default_rng(seed)
    lens = rng.integers(1, 80, n_students)
    students = np.repeat(np.arange(n_students), lens)
    positions = np.concatenate([np.arange(k) for k in lens])
    skill = rng.normal(size=n_students)[students]
    prob = 1 / (1 + np.exp(-(skill + 0.02 * positions - 0.5)))
    y = (rng.random(students.size) < prob).astype(int)
    p = np.round(np.clip(prob + 0.1 * rng.normal(size=prob.size), 0, 1), 2)  # rounding makes ties
    return y, p, students, positions


def test_bootstrap_ci_brackets_the_auc_and_is_seeded():
    y, p, students, _ = synthetic()
    point = auc(y, p)
    lo, hi = bootstrap_auc_ci(y, p, students, n_boot=200, seed=3)
    assert lo < point < hi and hi - lo < 0.1
    assert bootstrap_auc_ci(y, p, students, n_boot=200, seed=3) == [lo, hi]
    assert bootstrap_auc_ci(y, p, students, n_boot=200, seed=4) != [lo, hi]
    # with one student per response, the student bootstrap is the ordinary bootstrap: a narrower interval
    lo1, hi1 = bootstrap_auc_ci(y, p, np.arange(y.size), n_boot=200, seed=3)
    assert hi1 - lo1 < hi - lo


def test_bootstrap_degenerate_cases():
    assert all(math.isnan(v) for v in bootstrap_auc_ci([1, 1, 1], [0.2, 0.3, 0.4], [0, 1, 2]))
    with pytest.raises(ValueError, match="groups"):
        bootstrap_auc_ci([0, 1], [0.1, 0.2], [0])
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_auc_ci([0, 1], [0.1, 0.2], [0, 1], n_boot=0)


def test_by_bucket_uses_one_based_positions():
    positions = np.arange(60)
    y = np.tile([0, 1], 30)
    p = np.where(y == 1, 0.9, 0.1)
    out = by_bucket(y, p, positions)
    assert list(out) == ["1-5", "6-10", "11-20", "21-50", "51+"]
    assert [b["n"] for b in out.values()] == [5, 5, 10, 30, 10]
    assert all(b["auc"] == 1.0 for b in out.values())
    empty = by_bucket([0, 1], [0.2, 0.3], [0, 1])
    assert empty["51+"] == {"auc": None, "log_loss": None, "n": 0}
    with pytest.raises(ValueError, match="positions"):
        by_bucket([0, 1], [0.2, 0.3], [-1, 0])


def test_score_predictions_is_strict_json():
    y, p, students, positions = synthetic(seed=1)
    out = score_predictions(y, p, students, positions, seed=0)
    assert set(out) >= {"auc", "log_loss", "rmse", "auc_ci95", "by_bucket"}
    assert out["auc"] == pytest.approx(auc(y, p))
    assert sum(b["n"] for b in out["by_bucket"].values()) == y.size == out["n"]
    json.dumps(out, allow_nan=False)
    assert out == score_predictions(y, p, students, positions, seed=0)
