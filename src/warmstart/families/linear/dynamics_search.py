"""The search over the structure of learned dynamics (``warmstart.families.linear.dynamics_fit`` drives it):
candidate decays scored by the in-sample log marginal likelihood of the one-type hierarchical model, by grid,
pattern steps and a continuous (Brent) refinement in log half-life; the Wald tests of the habit categories;
and each user's term of that criterion along one decay (``decay_profile``), which a bootstrap resample of the
users re-weights to re-choose the decay (``resampled_half_life``).

The half-lives are searched in ``log2``: the decays that matter span two orders of magnitude, and the
criterion is close to quadratic in ``log2`` half-life near its maximum.

>>> _log2_half_life(_decay(2.0 ** 0.5)), round(_decay(1.0), 6)
(0.5, 0.5)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from statistics import NormalDist
from typing import Any

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.optimize import minimize_scalar

from warmstart.families.linear.dynamics import DynamicsSpec
from warmstart.families.linear.hierarchical import HierarchicalFit, fit_hierarchical
from warmstart.families.linear.model import GaussianTypes, Summary, log_evidence

Progress = Callable[[str, float], None]
SummaryOf = Callable[[DynamicsSpec], Summary]
MAX_RECENTRE = 4  # times the continuous search may move its bracket when the best lies at an end


def _decay(half_life: float) -> float:
    """The decay per unit of time of a half-life, through its log2 rounded to 1e-6 (so that a half-life
    reached twice, from a grid and by steps, is the same candidate)."""
    return float(0.5 ** (2.0 ** -round(math.log2(half_life), 6)))


def _log2_half_life(decay: float) -> float:
    """``log2`` of the half-life of a decay, rounded to 1e-6 as ``_decay`` rounds it."""
    return round(math.log2(math.log(0.5) / math.log(decay)), 6)


def log2_half_life(spec: DynamicsSpec, which: str) -> float:
    """``log2`` of the half-life of ``spec``'s ``which`` (``"exposure_decay"`` or ``"habit_decay"``).

    >>> log2_half_life(with_log2_half_life(DynamicsSpec(n_categories=1), "habit_decay", 3.0), "habit_decay")
    3.0
    """
    return _log2_half_life(getattr(spec, which))


def with_log2_half_life(spec: DynamicsSpec, which: str, x: float) -> DynamicsSpec:
    """``spec`` with the decay ``which`` of half-life ``2 ** x`` (see ``log2_half_life``).

    >>> with_log2_half_life(DynamicsSpec(n_categories=1), "exposure_decay", 1.0).exposure_decay   # half-life 2
    0.7071067811865476
    """
    return _with_decay(spec, which, _decay(2.0 ** float(x)))


def _log2_spacing(grid: tuple[float, ...]) -> float:
    return float(np.mean(np.diff(np.log2(grid)))) if len(grid) > 1 else 1.0


def _with_decay(spec: DynamicsSpec, which: str, decay: float) -> DynamicsSpec:
    if which == "exposure_decay":
        return replace(spec, exposure_decay=decay)
    return replace(spec, habit_decay=decay)


class _Search:
    """The in-sample log marginal likelihood of candidate structures under the one-type hierarchical model,
    with every score kept (``table``) and the fits of the candidates."""

    def __init__(self, summary: SummaryOf, n_users: int, max_iter: int, report: Progress) -> None:
        self.summary, self.n_users, self.max_iter, self.report = summary, n_users, max_iter, report
        self.table: list[dict[str, Any]] = []
        self._fits: dict[DynamicsSpec, HierarchicalFit] = {}

    def fit(self, spec: DynamicsSpec) -> HierarchicalFit:
        if spec not in self._fits:
            res = fit_hierarchical(self.summary(spec), max_iter=self.max_iter)
            self._fits[spec] = res
            hl = spec.half_lives()
            self.table.append({"exposure_decay": spec.exposure_decay, "habit_decay": spec.habit_decay,
                               "exposure_half_life": hl[0], "habit_half_life": hl[1],
                               "habit_categories": list(spec.habit_categories),
                               "per_category_habit": spec.per_category_habit, "practice": spec.practice,
                               "loglik": res.loglik, "n_params": res.n_params(), "em_iterations": res.iterations})
            self.report(f"candidate {len(self.table)}: half-lives {hl[0]:.2f} / {hl[1]:.1f}, log likelihood "
                        f"{res.loglik:.1f}", min(0.9, 0.03 * len(self.table)))
        return self._fits[spec]

    def score(self, spec: DynamicsSpec) -> float:
        return self.fit(spec).loglik

    def line(self, spec: DynamicsSpec, which: str, half_lives: tuple[float, ...]) -> DynamicsSpec:
        """The best of ``half_lives`` for the exposure's or the habit's decay, the other kept."""
        cands = [_with_decay(spec, which, _decay(h)) for h in half_lives]
        scores = [self.score(c) for c in cands]
        return cands[int(np.argmax(scores))]

    def pattern(self, spec: DynamicsSpec, which: str, step: float, halvings: int) -> DynamicsSpec:
        """Pattern search in log2 half-life: try one step either side, move to the best, halve the step."""
        best = spec
        for _ in range(halvings):
            log_hl = _log2_half_life(getattr(best, which))
            cands = [best] + [_with_decay(best, which, _decay(2.0 ** (log_hl + s))) for s in (-step, step)]
            scores = [self.score(c) for c in cands]
            best = cands[int(np.argmax(scores))]
            step /= 2.0
        return best

    def continuous(self, spec: DynamicsSpec, which: str, step: float, tol: float) -> DynamicsSpec:
        """Brent's bounded search (``scipy.optimize.minimize_scalar``) of the criterion in log2 half-life on
        ``[x - step, x + step]`` around ``spec``'s, to within ``tol``; the bracket is moved to the best found
        while that lies at one of its ends (at most ``MAX_RECENTRE`` times). A grid point between the
        candidates is never the answer when the maximum lies between them."""
        best = spec
        for _ in range(MAX_RECENTRE + 1):
            x0 = _log2_half_life(getattr(best, which))

            def loss(x: float, base: DynamicsSpec = best) -> float:
                return -self.score(_with_decay(base, which, _decay(2.0**x)))

            res = minimize_scalar(loss, bounds=(x0 - step, x0 + step), method="bounded", options={"xatol": tol})
            cand = _with_decay(best, which, _decay(2.0 ** float(res.x)))
            moved = self.score(cand) > self.score(best)
            best = cand if moved else best
            if not moved or abs(float(res.x) - x0) < step - 2 * tol:
                break
        return best


def habit_tests(fit: HierarchicalFit, spec: DynamicsSpec, static_dim: int, alpha: float) -> dict[str, Any]:
    """Step 2 of ``dynamics_fit``'s docstring: per category, the population-mean coefficient of its own habit
    stock (``spec`` has one per category), its robust standard error and Wald ``z``; the categories with ``z``
    below the one-sided Bonferroni threshold ``Phi^-1(alpha / C)`` are ``chosen``.

    >>> from warmstart.families.linear.dynamics_fit import _example_data
    >>> spec = DynamicsSpec(n_categories=2, exposure_decay=0.7, habit_decay=0.95, habit_categories=(0, 1),
    ...                     per_category_habit=True)
    >>> data = _example_data(n_users=100, seed=0)
    >>> tests = habit_tests(fit_hierarchical(data.summary(spec)), spec, 2, 0.05)
    >>> tests["chosen"], round(tests["z_threshold"], 2)
    ([1], -1.96)
    """
    C = spec.n_categories
    start = static_dim + (C if spec.per_category else 1)
    coef, se = fit.mu[start : start + C], fit.se[start : start + C]
    z = fit.z()[start : start + C]
    threshold = float(NormalDist().inv_cdf(alpha / C))
    return {"coef": coef.tolist(), "se": se.tolist(), "z": z.tolist(), "z_threshold": threshold, "alpha": alpha,
            "test": "one-sided Wald, population-mean habit coefficient < 0, robust SE, Bonferroni over categories",
            "chosen": [int(c) for c in range(C) if z[c] < threshold]}


def decay_profile(summary: SummaryOf, spec: DynamicsSpec, which: str, log2_half_lives: np.ndarray,
                  max_iter: int = 300) -> np.ndarray:
    """Each user's term ``(n_candidates, n_users)`` of the choice's criterion along one decay: the user's log
    marginal likelihood under the one-type hierarchical model fitted on every user with ``which``'s half-life
    at each of ``log2_half_lives`` (the rest of ``spec`` kept). A resample of the users re-weights the terms
    (``resampled_half_life``): the criterion of the resample with the fits held at the full data's, which
    differs from refitting on the resample by terms of second order that nearly cancel between nearby decays.

    >>> from warmstart.families.linear.dynamics_fit import _example_data
    >>> data = _example_data(n_users=60, seed=0)
    >>> spec = DynamicsSpec(n_categories=2, exposure_decay=0.7, habit_decay=0.95, habit_categories=(1,))
    >>> terms = decay_profile(data.summary, spec, "exposure_decay", np.array([0.0, 1.0, 2.0]), max_iter=50)
    >>> terms.shape, int(np.argmax(terms.sum(1)))                      # the true half-life is 1.94
    ((3, 60), 1)
    """
    rows = []
    for x in np.asarray(log2_half_lives, dtype=float):
        s = summary(_with_decay(spec, which, _decay(2.0 ** float(x))))
        fit = fit_hierarchical(s, max_iter=max_iter)
        types = GaussianTypes(fit.mu[None], fit.cov[None], np.array([fit.noise_var]))
        rows.append(log_evidence(s, types)[:, 0])
    return np.array(rows)


def resampled_half_life(log2_half_lives: np.ndarray, terms: np.ndarray, counts: np.ndarray,
                        resolution: float = 1e-3) -> float:
    """The log2 half-life that maximises the criterion of a resample of the users (``counts (n_users,)``: how
    many times each user was drawn) from ``decay_profile``'s ``terms``: a cubic spline through the
    re-weighted sums at the candidates, maximised on a grid of step ``resolution`` between the first and the
    last (an end when the maximum lies beyond them).

    >>> x = np.array([0.0, 0.5, 1.0, 1.5, 2.0])
    >>> terms = -np.subtract.outer(x, [0.8, 1.0, 1.2]) ** 2                   # three users, best at 0.8-1.2
    >>> round(resampled_half_life(x, terms, np.ones(3)), 3), round(resampled_half_life(x, terms, np.array([3, 0, 0])), 3)
    (1.0, 0.8)
    """
    x = np.asarray(log2_half_lives, dtype=float)
    total = np.asarray(terms, dtype=float) @ np.asarray(counts, dtype=float)
    fine = np.linspace(x[0], x[-1], max(2, round(float(x[-1] - x[0]) / resolution) + 1))
    return float(fine[int(np.argmax(CubicSpline(x, total)(fine)))])


__all__ = ["decay_profile", "habit_tests", "log2_half_life", "resampled_half_life", "with_log2_half_life"]
