"""Metrics of next-response prediction in knowledge tracing: AUC, log loss, RMSE, a student-level bootstrap
CI of the AUC, and the AUC by how far into their own history the students are.

``y`` is the observed correctness (0/1) and ``p`` the predicted probability of a correct response, one per
response. Undefined values (an AUC with one class only) are ``nan`` from the functions and ``None`` in the
dictionaries, so that the dictionaries serialise as strict JSON.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from warmstart import stats
from warmstart._validate import check_finite, check_shape

LOG_LOSS_EPS = 1e-7
# name, first and last 1-based position in the student's own history (None: no end)
BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("1-5", 1, 5), ("6-10", 6, 10), ("11-20", 11, 20), ("21-50", 21, 50), ("51+", 51, None),
)


def _check(y: Any, p: Any) -> tuple[np.ndarray, np.ndarray]:
    yy = np.asarray(y)
    pp = np.asarray(p, dtype=float)
    check_shape("y", yy, (None,))
    check_shape("p", pp, (yy.shape[0],))
    if yy.size and not np.all((yy == 0) | (yy == 1)):
        bad = yy[(yy != 0) & (yy != 1)][0]
        raise ValueError(f"y: expected 0 or 1 for every response, got {bad!r}")
    check_finite("p", pp)
    if pp.size and (pp.min() < 0 or pp.max() > 1):
        raise ValueError(f"p: expected probabilities in [0, 1], got {pp[(pp < 0) | (pp > 1)][0]}")
    return yy.astype(np.int8), pp


def auc(y: Any, p: Any) -> float:
    """``warmstart.stats.auc`` of checked responses: the probability that a random correct response gets a higher
    ``p`` than a random incorrect one, ties counting one half. ``nan`` when ``y`` holds one class only.

    >>> auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    yy, pp = _check(y, p)
    return stats.auc(yy, pp)


def log_loss(y: Any, p: Any, eps: float = LOG_LOSS_EPS) -> float:
    """Mean negative log likelihood of ``y`` under ``p`` clipped to ``[eps, 1 - eps]`` (natural log)."""
    yy, pp = _check(y, p)
    if yy.size == 0:
        return float("nan")
    q = np.clip(pp, eps, 1 - eps)
    return float(-np.mean(np.where(yy == 1, np.log(q), np.log1p(-q))))


def rmse(y: Any, p: Any) -> float:
    """Root mean squared error between ``y`` and ``p``."""
    yy, pp = _check(y, p)
    return float(np.sqrt(np.mean((yy - pp) ** 2))) if yy.size else float("nan")


def bootstrap_auc_ci(y: Any, p: Any, groups: Any, n_boot: int = 200, seed: int = 0,
                     level: float = 0.95) -> list[float]:
    """Percentile bootstrap CI of the AUC, resampling whole groups (students) with replacement, so that the
    interval reflects that one student's responses are not independent (``warmstart.stats.grouped_bootstrap``,
    multinomial counts of the groups). Returns ``[low, high]``."""
    yy, pp = _check(y, p)
    g = np.asarray(groups)
    check_shape("groups", g, (yy.shape[0],))
    if n_boot < 1:
        raise ValueError(f"n_boot: expected an integer >= 1, got {n_boot}")
    if not 0 < level < 1:
        raise ValueError(f"level: expected a number in (0, 1), got {level}")
    if yy.size == 0:
        return [float("nan"), float("nan")]
    order, y_sorted, tie_starts = stats.sort_by_score(yy, pp)
    block = max(1, 2_000_000 // yy.shape[0])  # bound the (replicates, responses) weight matrix to ~16 MB
    aucs = stats.grouped_bootstrap(lambda w: stats.weighted_auc(y_sorted, tie_starts, w), g.ravel()[order],
                                   n_boot, np.random.default_rng(seed), draw="multinomial", block=block)
    if np.all(np.isnan(aucs)):
        return [float("nan"), float("nan")]
    tail = 100 * (1 - level) / 2  # the quantiles np.nanpercentile takes at tail and 100 - tail
    return [float(x) for x in stats.interval(aucs, (tail / 100, (100 - tail) / 100), omit_nan=True)]


def _none_if_nan(x: float) -> float | None:
    return None if np.isnan(x) else x


def by_bucket(y: Any, p: Any, positions: Any) -> dict[str, dict[str, Any]]:
    """AUC, log loss and count per bucket of 1-based position in the student's own history ("1-5", "6-10",
    "11-20", "21-50", "51+"). ``positions`` are 0-based (``KTData.positions()``)."""
    yy, pp = _check(y, p)
    pos = np.asarray(positions)
    check_shape("positions", pos, (yy.shape[0],))
    if pos.size and (not np.issubdtype(pos.dtype, np.integer) or pos.min() < 0):
        raise ValueError(f"positions: expected 0-based integer positions, got {pos.min()!r} of dtype {pos.dtype}")
    one_based = pos + 1
    out: dict[str, dict[str, Any]] = {}
    for name, lo, hi in BUCKETS:
        mask = (one_based >= lo) & (one_based <= (hi if hi is not None else np.inf))
        out[name] = {"auc": _none_if_nan(auc(yy[mask], pp[mask])),
                     "log_loss": _none_if_nan(log_loss(yy[mask], pp[mask])), "n": int(mask.sum())}
    return out


def score_predictions(y: Any, p: Any, students: Any, positions: Any, seed: int = 0,
                      n_boot: int = 200) -> dict[str, Any]:
    """Every headline number of a next-response prediction run: ``auc``, ``log_loss``, ``rmse``, ``auc_ci95``
    (bootstrap over students), ``by_bucket`` and ``n``."""
    ci = bootstrap_auc_ci(y, p, students, n_boot=n_boot, seed=seed)
    return {"auc": _none_if_nan(auc(y, p)), "log_loss": _none_if_nan(log_loss(y, p)),
            "rmse": _none_if_nan(rmse(y, p)), "auc_ci95": [_none_if_nan(c) for c in ci],
            "by_bucket": by_bucket(y, p, positions), "n": int(np.asarray(y).shape[0])}
