"""The shared statistics (``warmstart.stats``) against slow, obvious references: the AUC by counting pairs, every
bootstrap against a hand-written resampling loop making the same generator calls as the code it replaced, so
that the benchmarks' numbers are bitwise those they were."""

import itertools

import numpy as np
import pytest

from warmstart import stats
from warmstart.bench.kt_metrics import bootstrap_auc_ci
from warmstart.ope.estimators import bootstrap_ci as ope_bootstrap_ci


def pair_count_auc(labels, scores, weights=None) -> float:
    """P(score of a positive > score of a negative), ties one half, by going over every pair."""
    w = np.ones(len(labels)) if weights is None else weights
    num = den = 0.0
    for i, j in itertools.product(range(len(labels)), repeat=2):
        if labels[i] and not labels[j]:
            num += w[i] * w[j] * ((scores[i] > scores[j]) + 0.5 * (scores[i] == scores[j]))
            den += w[i] * w[j]
    return num / den if den else float("nan")


def loop_ci(values, rng, n_boot):
    """The benchmarks' bootstrap as it was written: all resamples at once, two percentiles."""
    n = values.shape[0]
    idx = rng.integers(n, size=(n_boot, n))
    means = values[idx].mean(1)
    return [float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))]


# ---------------------------------------------------------------------------------------------- AUC
@pytest.mark.parametrize("seed", range(6))
def test_auc_is_the_pair_count(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 40))
    labels = rng.random(n) < 0.4
    scores = np.round(rng.normal(size=n), 1)  # ties
    if labels.all() or not labels.any():
        labels[0] = not labels[0]
    assert stats.auc(labels, scores) == pytest.approx(pair_count_auc(labels, scores), abs=1e-12)
    assert stats.auc(labels.astype(int), scores) == stats.auc(labels, scores)
    assert stats.auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    assert np.isnan(stats.auc([True, True], [1.0, 2.0])) and np.isnan(stats.auc([0, 0], [1.0, 2.0]))


def test_weighted_auc_is_the_weighted_pair_count_and_the_auc_with_unit_weights():
    rng = np.random.default_rng(1)
    labels = rng.random(30) < 0.5
    scores = np.round(rng.random(30), 1)
    order, y_sorted, ties = stats.sort_by_score(labels, scores)
    weights = rng.integers(0, 4, size=(5, 30)).astype(float)
    got = stats.weighted_auc(y_sorted, ties, weights[:, order])
    for row, w in zip(got, weights):
        assert row == pytest.approx(pair_count_auc(labels, scores, w), abs=1e-12)
    ones = stats.weighted_auc(y_sorted, ties, np.ones((1, 30)))
    assert ones[0] == pytest.approx(stats.auc(labels, scores), abs=1e-12)
    assert np.isnan(stats.weighted_auc(y_sorted, ties, np.where(labels[order], 1.0, 0.0)[None]))[0]


# ---------------------------------------------------------------------------------------------- resampling
@pytest.mark.parametrize("n, n_boot, block", [(7, 10, 3), (5, 1, None), (101, 50, 1), (13, 40, 40)])
def test_integer_resamples_are_one_draw_whatever_the_blocks(n, n_boot, block):
    want = np.random.default_rng(4).integers(n, size=(n_boot, n))
    rng = np.random.default_rng(4)
    got = np.vstack([b for _, b in stats.resamples(n, n_boot, rng, block=block)])
    assert np.array_equal(got, want)
    rng2 = np.random.default_rng(4)
    counts = np.vstack([c for _, c in stats.resamples(n, n_boot, rng2, block=block, counts=True)])
    assert np.array_equal(counts, [np.bincount(r, minlength=n) for r in want])
    assert rng.random() == rng2.random()  # the stream is left where one draw leaves it


def test_multinomial_and_uniform_resamples():
    n, n_boot = 9, 25
    want = np.random.default_rng(2).multinomial(n, np.full(n, 1.0 / n), size=n_boot)
    got = np.vstack([c for _, c in stats.resamples(n, n_boot, np.random.default_rng(2), draw="multinomial",
                                                   block=4)])
    assert np.array_equal(got, want) and got.dtype == float
    u = np.random.default_rng(3).random((n_boot, 20))
    got = np.vstack([b for _, b in stats.resamples(n, n_boot, draw="uniforms", uniforms=u, block=7)])
    assert np.array_equal(got, [[min(int(x * n), n - 1) for x in row[:n]] for row in u])
    with pytest.raises(ValueError, match="uniforms"):
        next(stats.resamples(30, n_boot, draw="uniforms", uniforms=u))
    with pytest.raises(ValueError, match="rng"):
        next(stats.resamples(3, 2))


# ---------------------------------------------------------------------------------------------- intervals
def test_bootstrap_ci_is_the_resampling_loop_bitwise_on_a_shared_generator():
    data = np.random.default_rng(0)
    rng, ref = np.random.default_rng([0, 3]), np.random.default_rng([0, 3])
    for n, n_boot in ((1, 5), (2, 50), (300, 1000), (5001, 1000)):  # 5001 x 1000: two blocks
        v = data.normal(size=n)
        assert stats.bootstrap_ci(v, rng, n_boot) == loop_ci(v, ref, n_boot)
    assert np.isnan(stats.bootstrap_ci(np.array([]), rng, 10)).all()  # draws nothing
    assert rng.random() == ref.random()


def test_paired_ratio_ci_is_the_resampling_loop():
    data = np.random.default_rng(1)
    num, den = data.random(400), data.random(400) + 0.5
    ref = np.random.default_rng(9)
    idx = ref.integers(400, size=(700, 400))
    r = num[idx].mean(1) / np.maximum(den[idx].mean(1), 1e-12)
    want = [float(np.percentile(r, 2.5)), float(np.percentile(r, 97.5))]
    assert stats.paired_ratio_ci(num, den, np.random.default_rng(9), 700) == want


@pytest.mark.parametrize("n, n_boot, alpha", [(1, 3, 0.05), (1000, 2000, 0.1), (70001, 200, 0.05), (64, 99, 0.5)])
def test_ope_bootstrap_is_the_chunked_loop(n, n_boot, alpha):
    v = np.random.default_rng(n).normal(size=n)
    rng = np.random.default_rng(5)
    chunk = max(1, 4_000_000 // n)
    means = np.empty(n_boot)
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        means[start:stop] = v[rng.integers(0, n, size=(stop - start, n))].mean(axis=1)
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    assert ope_bootstrap_ci(v, n_boot=n_boot, alpha=alpha, seed=5) == (float(lo), float(hi))


def test_count_bootstrap_is_the_bincount_loop():
    """The fairness audit's bootstrap: the metrics on the counts of each user in a resample."""
    W = np.random.default_rng(2).random((50, 3))
    rng, ref = np.random.default_rng(7), np.random.default_rng(7)
    got = stats.bootstrap(lambda c: c @ W, 50, 30, rng, counts=True, block=8)
    want = np.stack([np.bincount(ref.integers(50, size=50), minlength=50) @ W for _ in range(30)])
    assert np.allclose(got, want, rtol=0, atol=1e-12) and rng.random() == ref.random()


def test_a_statistic_drawing_between_resamples_keeps_the_loop_order():
    """The leakage audit's refitting bootstrap: one resample, then the statistic's own draws, then the next."""
    x = np.random.default_rng(0).normal(size=20)
    rng, ref = np.random.default_rng(3), np.random.default_rng(3)
    got = stats.bootstrap(lambda idx: np.array([x[idx[0]].mean() + rng.random()]), 20, 15, rng, block=1)
    want = [x[ref.integers(20, size=20)].mean() + ref.random() for _ in range(15)]
    assert got.tolist() == want


def test_grouped_bootstrap_of_the_auc_is_the_resampling_loop():
    """Knowledge tracing's CI: multinomial counts of students, the AUC of the students' rows repeated."""
    rng = np.random.default_rng(6)
    y = rng.integers(0, 2, size=60)
    p = np.round(rng.random(60), 1)
    students = rng.integers(0, 12, size=60) * 10 + 3  # labels need not be 0..n-1
    ids, g = np.unique(students, return_inverse=True)
    counts = np.random.default_rng(2).multinomial(ids.size, np.full(ids.size, 1.0 / ids.size), size=40)
    aucs = [stats.auc(np.repeat(y, c[g]), np.repeat(p, c[g])) for c in counts]
    tail = 100 * (1 - 0.9) / 2
    want = [np.nanpercentile(aucs, tail), np.nanpercentile(aucs, 100 - tail)]
    got = bootstrap_auc_ci(y, p, students, n_boot=40, seed=2, level=0.9)
    assert got == pytest.approx(want, abs=1e-12)


def test_interval_is_numpys_percentile():
    x = np.random.default_rng(0).normal(size=(101, 2, 3))
    x[::7, 0, 1] = np.nan
    lo, hi = stats.interval(x, axis=0, omit_nan=True)
    assert np.array_equal(lo, np.nanpercentile(x, 2.5, axis=0)) and np.array_equal(hi, np.nanpercentile(x, 97.5,
                                                                                                         axis=0))
    assert stats.interval(x[:, 1, 1]).tolist() == [np.percentile(x[:, 1, 1], 2.5), np.percentile(x[:, 1, 1], 97.5)]


def test_moving_average():
    assert np.allclose(stats.moving_average(np.arange(1, 7, dtype=float), 3), [1, 1.5, 2, 3, 4, 5])
