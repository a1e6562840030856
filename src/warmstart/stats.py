"""Statistics shared by the library, the benchmarks and the report: the AUC, the percentile bootstrap over units
(users, rounds, students) and its paired ratio, the moving average.

Every bootstrap of the package draws its resamples in :func:`resamples` and nowhere else. A caller keeps the
random stream it always had by its choice of ``draw``:

- ``"integers"``: ``rng.integers(n, size=(rows, n))``, block after block of rows. The draws are those of one
  ``rng.integers(n, size=(n_boot, n))`` whatever the block size, so a caller that drew everything at once and one
  that drew in blocks get the same resamples from the same generator.
- ``"multinomial"``: ``rng.multinomial(n, [1/n] * n, size=rows)``, the counts of each unit (knowledge tracing's
  bootstrap over students).
- ``"uniforms"``: indices ``min(floor(u * n), n - 1)`` from uniforms ``u`` drawn once beforehand (``uniforms``,
  ``(n_boot, N)`` with ``N >= n``): the same draws for every policy and every subgroup of a benchmark, so that
  comparisons are paired (the tutoring benchmark).

``scipy.stats.bootstrap`` is not used: its percentile interval is taken at ``100 * (1 - level) / 2`` (for 95%,
``2.5000000000000022`` rather than ``2.5``), so it differs from the package's intervals in the last bits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Literal

import numpy as np

Draw = Literal["integers", "multinomial", "uniforms"]

#: quantiles of a 95% percentile interval (``2.5 / 100`` and ``97.5 / 100``: the values ``np.percentile``
#: uses for 2.5 and 97.5, so that ``np.quantile`` at them gives the same numbers)
CI95 = (0.025, 0.975)
#: cells (rows x units) of a block of resamples drawn at once: bounds an int64 index block at about 32 MB
BLOCK_CELLS = 4_000_000


# ---------------------------------------------------------------------------------------------- the AUC
def auc(labels: object, scores: object) -> float:
    """Area under the ROC curve: the probability that a random positive (a true ``labels``) scores above a random
    negative, ties counting one half (Mann-Whitney with average ranks). ``nan`` without both classes.

    >>> auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    y = np.asarray(labels, dtype=bool)
    n_pos = int(y.sum())
    n_neg = y.shape[0] - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    from scipy.stats import rankdata  # here, not at the top: scipy.stats takes most of a command's start-up

    ranks = rankdata(np.asarray(scores, dtype=float))  # average ranks: a tie counts one half
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def sort_by_score(labels: object, scores: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What :func:`weighted_auc` reads: ``(order, labels_sorted, tie_starts)``, the rows in increasing score
    (a stable sort), their labels as floats, and the first index of each run of equal scores.

    >>> order, labels_sorted, tie_starts = sort_by_score([1, 0, 1, 0], [0.8, 0.1, 0.35, 0.35])
    >>> order.tolist(), labels_sorted.tolist(), tie_starts.tolist()     # rows 2 and 3 tie
    ([1, 2, 3, 0], [0.0, 1.0, 0.0, 1.0], [0, 1, 3])
    """
    s = np.asarray(scores, dtype=float)
    order = np.argsort(s, kind="stable")
    s_sorted = s[order]
    tie_starts = np.flatnonzero(np.r_[True, s_sorted[1:] != s_sorted[:-1]])
    return order, np.asarray(labels)[order].astype(float), tie_starts


def weighted_auc(labels_sorted: np.ndarray, tie_starts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The AUC of each row of ``weights (B, n)`` (rows of :func:`sort_by_score`): the sum over positive-negative
    pairs of ``w_i w_j ([s_i > s_j] + [s_i = s_j] / 2)`` over the total positive-negative weight; ``nan`` for a
    row without both classes. An integer weight is the number of times a row was drawn in a resample.

    >>> import numpy as np
    >>> _, labels_sorted, tie_starts = sort_by_score([1, 0, 1, 0], [0.8, 0.1, 0.35, 0.35])
    >>> weights = np.array([[1.0, 1, 1, 1], [0, 2, 1, 1], [1, 0, 1, 0]])  # once each; a resample; no positive
    >>> weighted_auc(labels_sorted, tie_starts, weights).round(3).tolist()  # the first: auc(labels, scores)
    [0.875, 0.667, nan]
    """
    pos = np.add.reduceat(weights * labels_sorted, tie_starts, axis=1)
    neg = np.add.reduceat(weights * (1 - labels_sorted), tie_starts, axis=1)
    neg_below = np.cumsum(neg, axis=1) - neg
    num = (pos * (neg_below + 0.5 * neg)).sum(1)
    den = pos.sum(1) * neg.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


# ---------------------------------------------------------------------------------------------- bootstrap
def resamples(n: int, n_boot: int, rng: np.random.Generator | None = None, *, draw: Draw = "integers",
              counts: bool = False, block: int | None = None,
              uniforms: np.ndarray | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Bootstrap resamples of ``n`` units (with replacement) in blocks of at most ``block`` resamples (default:
    ``BLOCK_CELLS // n``): yields ``(first resample, block)``, the block ``(rows, n)`` of unit indices, or with
    ``counts`` (always for ``"multinomial"``) of the number of times each unit was drawn, as floats. ``draw`` is
    the generator's stream (module docstring); ``"uniforms"`` reads ``uniforms`` and draws nothing.

    >>> import numpy as np
    >>> [(first, block.tolist()) for first, block in resamples(4, 3, np.random.default_rng(0), block=2)]
    [(0, [[3, 2, 2, 1], [1, 0, 0, 0]]), (2, [[0, 3, 2, 3]])]
    >>> next(resamples(4, 1, np.random.default_rng(0), counts=True))[1].tolist()  # times each unit was drawn
    [[0.0, 1.0, 2.0, 1.0]]
    """
    if draw == "uniforms":
        if uniforms is None or uniforms.shape[0] < n_boot or uniforms.shape[1] < n:
            raise ValueError(f"uniforms: expected an array of at least ({n_boot}, {n}), got "
                             f"{None if uniforms is None else uniforms.shape}")
    elif rng is None:
        raise ValueError(f"rng: expected a numpy Generator for draw={draw!r}, got None")
    step = max(1, BLOCK_CELLS // max(n, 1)) if block is None else int(block)
    for lo in range(0, n_boot, step):
        b = min(step, n_boot - lo)
        if draw == "multinomial":
            assert rng is not None
            yield lo, rng.multinomial(n, np.full(n, 1.0 / n), size=b).astype(float)
            continue
        if draw == "uniforms":
            assert uniforms is not None
            idx = np.minimum((uniforms[lo : lo + b, :n] * n).astype(np.int64), n - 1)
        elif draw == "integers":
            assert rng is not None
            idx = rng.integers(n, size=(b, n))
        else:
            raise ValueError(f"draw: expected 'integers', 'multinomial' or 'uniforms', got {draw!r}")
        if counts:
            flat = (idx + (np.arange(b) * n)[:, None]).ravel()
            yield lo, np.bincount(flat, minlength=b * n).reshape(b, n).astype(float)
        else:
            yield lo, idx


def bootstrap(statistic: Callable[[np.ndarray], np.ndarray], n: int, n_boot: int,
              rng: np.random.Generator | None = None, *, draw: Draw = "integers", counts: bool = False,
              block: int | None = None, uniforms: np.ndarray | None = None,
              progress: Callable[[int], None] | None = None) -> np.ndarray:
    """``statistic`` on ``n_boot`` resamples of ``n`` units: ``(n_boot, ...)``. ``statistic`` maps a block of
    :func:`resamples` (indices, or counts with ``counts``) to one value (or array) per row; ``progress(first)``
    is called with the index of each block's first resample before ``statistic`` runs on it. A statistic may
    draw from ``rng`` itself: with ``block=1`` its draws come between two resamples', as in a loop drawing one
    resample (``rng.integers(n, size=n)``) at a time.

    >>> import numpy as np
    >>> x = np.array([1.0, 2.0, 3.0, 10.0])
    >>> means = bootstrap(lambda idx: x[idx].mean(1), n=4, n_boot=1000, rng=np.random.default_rng(0))
    >>> means.shape, interval(means).tolist()
    ((1000,), [1.5, 8.0])
    """
    out: list[np.ndarray] = []
    for lo, sample in resamples(n, n_boot, rng, draw=draw, counts=counts, block=block, uniforms=uniforms):
        if progress is not None:
            progress(lo)
        out.append(np.asarray(statistic(sample)))
    return np.concatenate(out)


def grouped_bootstrap(statistic: Callable[[np.ndarray], np.ndarray], groups: object, n_boot: int,
                      rng: np.random.Generator, *, draw: Draw = "multinomial",
                      block: int | None = None) -> np.ndarray:
    """The bootstrap whose unit is a group of rows (a student's responses): ``statistic`` gets row weights
    ``(rows, n_rows)``, the number of times each row's group was drawn. Groups are numbered in sorted order of
    ``groups``, so the draws do not depend on the order of the rows.

    >>> import numpy as np
    >>> x = np.array([1.0, 2.0, 3.0, 10.0])               # rows; the first two are one student's
    >>> means = grouped_bootstrap(lambda w: (w * x).sum(1) / w.sum(1), ["a", "a", "b", "c"], 1000,
    ...                           np.random.default_rng(0))
    >>> means.shape, interval(means).tolist()
    ((1000,), [1.5, 10.0])
    """
    _, group = np.unique(np.asarray(groups), return_inverse=True)
    group = group.ravel()
    n_groups = int(group.max()) + 1
    return bootstrap(lambda c: statistic(c[:, group]), n_groups, n_boot, rng, draw=draw, counts=True,
                     block=block)


def interval(samples: np.ndarray, probs: Sequence[float] = CI95, *, axis: int | None = None,
             omit_nan: bool = False) -> np.ndarray:
    """The percentile interval of bootstrap ``samples``: ``np.quantile`` (``np.nanquantile`` with
    ``omit_nan``) at ``probs``, stacked on the first axis: ``(2,)``, or ``(2, ...)`` along ``axis``.

    >>> import numpy as np
    >>> interval(np.arange(101.0)).tolist(), interval(np.array([1.0, np.nan, 3.0]), omit_nan=True).tolist()
    ([2.5, 97.5], [1.05, 2.95])
    """
    q = np.nanquantile if omit_nan else np.quantile
    return np.asarray(q(samples, list(probs), axis=axis))


def bootstrap_ci(values: np.ndarray, rng: np.random.Generator, n_boot: int, *, probs: Sequence[float] = CI95,
                 draw: Draw = "integers", uniforms: np.ndarray | None = None) -> list[float]:
    """Percentile bootstrap CI (95% by default) of the mean over units (axis 0 of ``values``); ``[nan, nan]``
    for no unit (nothing is drawn then).

    >>> import numpy as np
    >>> bootstrap_ci(np.array([1.0, 2.0, 3.0, 10.0]), np.random.default_rng(0), n_boot=1000)
    [1.5, 8.0]
    >>> bootstrap_ci(np.array([]), np.random.default_rng(0), n_boot=1000)
    [nan, nan]
    """
    v = np.asarray(values)
    n = v.shape[0]
    if n == 0:
        return [float("nan"), float("nan")]
    means = bootstrap(lambda idx: v[idx].mean(1), n, n_boot, rng, draw=draw, uniforms=uniforms)
    return [float(x) for x in interval(means, probs)]


def paired_ratio_ci(num: np.ndarray, den: np.ndarray, rng: np.random.Generator | None, n_boot: int, *,
                    probs: Sequence[float] = CI95, draw: Draw = "integers",
                    uniforms: np.ndarray | None = None) -> list[float]:
    """Percentile bootstrap CI of ``mean(num) / mean(den)`` (the denominator floored at ``1e-12``), resampling
    units with both of their values (paired: the same units on both sides).

    >>> import numpy as np
    >>> num, den = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 4.0, 6.0, 9.0])
    >>> [round(x, 3) for x in paired_ratio_ci(num, den, np.random.default_rng(0), n_boot=200)]
    [0.452, 0.5]
    """
    a, b = np.asarray(num), np.asarray(den)
    ratios = bootstrap(lambda idx: a[idx].mean(1) / np.maximum(b[idx].mean(1), 1e-12), a.shape[0], n_boot, rng,
                       draw=draw, uniforms=uniforms)
    return [float(x) for x in interval(ratios, probs)]


# ---------------------------------------------------------------------------------------------- curves
def moving_average(x: np.ndarray, window: int = 5) -> np.ndarray:
    """Trailing moving average: the mean of the last ``window`` values (fewer at the start).

    >>> import numpy as np
    >>> moving_average(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), window=2).tolist()
    [1.0, 1.5, 2.5, 3.5, 4.5]
    """
    c = np.cumsum(np.insert(x, 0, 0.0))
    idx = np.arange(1, len(x) + 1)
    lo = np.maximum(idx - window, 0)
    return (c[idx] - c[lo]) / (idx - lo)


def normalised_exp(log_p: np.ndarray) -> np.ndarray:
    """``exp(log_p)`` normalised along the last axis, without overflow: a posterior over types from the log
    evidence plus the log prior weights, for one user ``(K,)`` or many ``(N, K)``.

    >>> import numpy as np
    >>> normalised_exp(np.array([0.0, np.log(3.0)])).round(3).tolist()      # odds 1:3
    [0.25, 0.75]
    >>> normalised_exp(np.array([[1000.0, 1000.0], [-1000.0, -1001.0]])).round(3).tolist()   # no overflow
    [[0.5, 0.5], [0.731, 0.269]]
    """
    p = np.exp(log_p - log_p.max(axis=-1, keepdims=True))
    return p / p.sum(axis=-1, keepdims=True)
