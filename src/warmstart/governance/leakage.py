"""The leakage audit: how well the types a population infers predict a sensitive attribute.

Leakage (``leakage_audit``): the features are each user's type probabilities (every type and novel); the
attribute is predicted by an L2-penalised logistic regression (Newton's method, numpy only) cross-fitted over
stratified, seeded folds, so each user's score comes from a model that never saw them. The AUC of those scores
(for more than two values: the one-vs-rest macro average) has a 95% bootstrap CI over users and a permutation
null (the attribute shuffled over users), both refitting the cross-fitted models every time: a pooled
cross-fitted AUC varies far more under the null than a bootstrap with the scores held fixed says, because each
user's score is fitted on the other users' labels. When the CI's lower bound exceeds ``threshold`` the report
carries a warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit

from warmstart import stats
from warmstart._version import __version__
from warmstart.families.linear.population import Population
from warmstart.governance.audit import (
    AuditLog,
    ItemFeatureSource,
    Progress,
    TypeInference,
    _no_nan_warnings,
    _quiet,
    _sorted_labels,
    infer_types,
)

DEFAULT_THRESHOLD = 0.6


def fit_logistic(X: np.ndarray, y: np.ndarray, *, l2: float = 1.0, max_iter: int = 100,
                 tol: float = 1e-10) -> tuple[np.ndarray, float]:
    """L2-penalised logistic regression by Newton's method with backtracking: minimises
    ``sum_i log(1 + exp(eta_i)) - y_i eta_i + l2 / 2 |w|^2`` with ``eta = X w + b`` (the intercept ``b`` is
    not penalised). Returns ``(w, b)``. Needs both classes in ``y`` unless ``l2 > 0`` bounds the intercept.

    >>> import numpy as np
    >>> w, b = fit_logistic(np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1]), l2=1.0)
    >>> w.round(3).tolist(), round(b, 3)                      # P(y = 1) = 1/2 at x = 1.5
    ([0.958], -1.437)
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    n, p = X.shape
    if y.shape != (n,) or not np.all((y == 0) | (y == 1)):
        raise ValueError(f"y: expected {n} labels in {{0, 1}}, got shape {y.shape}")
    if l2 < 0:
        raise ValueError(f"l2: expected a penalty >= 0, got {l2}")
    Z = np.column_stack([np.ones(n), X])
    pen = np.full(p + 1, float(l2))
    pen[0] = 0.0
    beta = np.zeros(p + 1)
    ybar = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
    beta[0] = np.log(ybar / (1 - ybar))

    def objective(b: np.ndarray) -> float:
        eta = Z @ b
        return float(np.sum(np.logaddexp(0.0, eta) - y * eta) + 0.5 * np.sum(pen * b * b))

    f = objective(beta)
    for _ in range(max_iter):
        mu = expit(Z @ beta)
        grad = Z.T @ (mu - y) + pen * beta
        H = (Z * (mu * (1 - mu))[:, None]).T @ Z + np.diag(pen) + 1e-9 * np.eye(p + 1)
        step = np.linalg.solve(H, grad)
        t = 1.0
        while True:
            cand = beta - t * step
            fc = objective(cand)
            if fc <= f - 1e-4 * t * float(grad @ step) or t < 1e-10:
                break
            t *= 0.5
        beta, f_old, f = cand, f, fc
        if np.max(np.abs(t * step)) < tol or abs(f_old - f) < tol * max(1.0, abs(f)):
            break
    return beta[1:], float(beta[0])


def stratified_folds(labels: np.ndarray, n_folds: int, rng: np.random.Generator) -> np.ndarray:
    """A fold index per user: each label's users shuffled and dealt round-robin, so every fold has about the
    same share of each label and a label with at least two users is in the training part of every fold.

    >>> import numpy as np
    >>> stratified_folds(np.array(["a", "a", "a", "b", "b", "b"]), 3, np.random.default_rng(0)).tolist()
    [1, 2, 0, 2, 1, 0]
    """
    folds = np.empty(labels.shape[0], dtype=np.int64)
    offset = 0
    for v in np.unique(labels):
        members = np.flatnonzero(labels == v)
        members = members[rng.permutation(members.shape[0])]
        folds[members] = (np.arange(members.shape[0]) + offset) % n_folds
        offset += members.shape[0]
    return folds


def resample_folds(idx: np.ndarray, labels: np.ndarray, n_folds: int, rng: np.random.Generator) -> np.ndarray:
    """A fold index per row of the bootstrap resample ``idx`` (user indices, with repeats), stratified as
    ``stratified_folds`` stratifies the users: all copies of a user share a fold (no user is in the training and
    the test part at once), and each label's copies are spread evenly over the folds (each label's users,
    shuffled, cut into ``n_folds`` runs of about the same number of copies).

    Folds that are stratified over the original users and then indexed by ``idx`` are not stratified over the
    resample: the share of a label then varies between folds, each fold's model learns the opposite of its test
    part's share, and the pooled cross-fitted AUC drops. The bootstrap of such folds was centred below the
    estimate, which could fall outside its own interval (0.623 with a CI of 0.554-0.605 on a one-type
    population).

    >>> labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])                 # eight users, two labels
    >>> idx = np.array([0, 0, 1, 2, 3, 4, 5, 5, 6, 7])              # a resample: users 0 and 5 twice
    >>> resample_folds(idx, labels, 2, np.random.default_rng(0)).tolist()
    [0, 0, 1, 0, 1, 1, 1, 1, 0, 0]
    """
    users, copies = np.unique(idx, return_counts=True)
    user_labels = labels[users]
    fold_of = np.empty(users.shape[0], dtype=np.int64)
    offset = 0
    for v in np.unique(user_labels):
        members = np.flatnonzero(user_labels == v)
        members = members[rng.permutation(members.shape[0])]
        c = copies[members]
        middle = np.cumsum(c) - c / 2.0  # where each user's copies sit in the label's run of copies
        fold_of[members] = (np.floor(middle * n_folds / c.sum()).astype(np.int64) + offset) % n_folds
        offset += members.shape[0]
    return fold_of[np.searchsorted(users, idx)]


def cross_fit_scores(X: np.ndarray, y: np.ndarray, folds: np.ndarray, *, l2: float = 1.0) -> np.ndarray:
    """Out-of-fold linear scores ``X w + b``: each user's from the model fitted on the other folds (a constant
    0 for a fold whose training part has a single class).

    >>> import numpy as np
    >>> X, y = np.array([[0.0], [0.1], [0.2], [1.0], [1.1], [1.2]]), np.array([0, 0, 0, 1, 1, 1.0])
    >>> cross_fit_scores(X, y, stratified_folds(y, 3, np.random.default_rng(0))).round(2).tolist()
    [-0.48, -0.43, -0.28, 0.31, 0.37, 0.52]
    """
    scores = np.zeros(X.shape[0])
    for f in np.unique(folds):
        test = folds == f
        ytr = y[~test]
        if ytr.size and 0 < ytr.sum() < ytr.size:
            w, b = fit_logistic(X[~test], ytr, l2=l2)
            scores[test] = X[test] @ w + b
    return scores


def _cross_fit_auc(X: np.ndarray, Y: np.ndarray, folds: np.ndarray, l2: float) -> np.ndarray:
    """Per target row of ``Y (C, N)`` (booleans), the AUC of the cross-fitted scores."""
    return np.array([stats.auc(y, cross_fit_scores(X, y.astype(float), folds, l2=l2)) for y in Y])


@dataclass(frozen=True)
class LeakageReport:
    """What ``leakage_audit`` found; ``to_dict()`` is ``leakage.json``.

    >>> import numpy as np, warmstart as ws
    >>> from warmstart.data.bandit_log import save_log
    >>> from warmstart.governance.audit import load_audit_log
    >>> cfg = ws.sim.LinearTypesConfig(dim=3, n_types=3, minority_share=0.3, outlier_share=0.0)
    >>> log = ws.sim.LinearTypesPopulation(cfg).logged(90, 20, seed=0)          # 90 users of 3 types
    >>> save_log("log.npz", log)                                                # with the true types
    >>> population = ws.fit_population(log, ws.FitConfig(n_types=3, split_merge=False))
    >>> audit = load_audit_log("log.npz")
    >>> report = leakage_audit(audit, population, "true_type", n_boot=20, n_perm=20)
    >>> report.leaks, report.to_dict()["chance"]["ci_contains_chance"]
    (True, False)
    >>> report.warning
    "inferred types predict 'true_type' with AUC 1.000 (95% CI 1.000-1.000, chance 0.5): the CI's lower ..."
    """

    attribute: str
    method: str
    classes: list[str]
    class_counts: list[int]
    positive_class: str | None
    auc: float
    ci95: tuple[float, float]
    per_class_auc: dict[str, float]
    permutation_p: float
    permutation_ci95: tuple[float, float]
    threshold: float
    warning: str | None
    n_users: int
    config: dict[str, Any]
    source: str

    @property
    def leaks(self) -> bool:
        return self.warning is not None

    def to_dict(self) -> dict[str, Any]:
        return {"audit": "leakage", "version": __version__, "source": self.source, "attribute": self.attribute,
                "method": self.method, "classes": self.classes, "class_counts": self.class_counts,
                "positive_class": self.positive_class, "n_users": self.n_users, "auc": self.auc,
                "ci95": list(self.ci95), "per_class_auc": self.per_class_auc,
                "chance": {"auc": 0.5, "permutation_p": self.permutation_p,
                           "permutation_ci95": list(self.permutation_ci95),
                           "ci_contains_chance": bool(self.ci95[0] <= 0.5 <= self.ci95[1])},
                "threshold": self.threshold, "leaks": self.leaks, "warning": self.warning, "config": self.config}


def leakage_audit(log: AuditLog, population: Population, attribute: str, *,
                  features: np.ndarray | ItemFeatureSource | None = None, inference: TypeInference | None = None,
                  threshold: float = DEFAULT_THRESHOLD, n_folds: int = 5, l2: float = 1.0, n_boot: int = 500,
                  n_perm: int = 200, seed: int = 0, progress: Progress | None = None) -> LeakageReport:
    """How well the inferred types predict the per-user column ``attribute`` (module docstring). Binary: the
    AUC of predicting the second value (in sorted order) against the first; more values: the one-vs-rest macro
    AUC. Each value needs at least two users.

    >>> import numpy as np, warmstart as ws
    >>> from warmstart.data.bandit_log import save_log
    >>> from warmstart.governance.audit import load_audit_log
    >>> cfg = ws.sim.LinearTypesConfig(dim=3, n_types=3, minority_share=0.3, outlier_share=0.0)
    >>> log = ws.sim.LinearTypesPopulation(cfg).logged(90, 20, seed=0)          # 90 users of 3 types
    >>> save_log("log.npz", log)                                                # with the true types
    >>> population = ws.fit_population(log, ws.FitConfig(n_types=3, split_merge=False))
    >>> audit = load_audit_log("log.npz")
    >>> report = leakage_audit(audit, population, "true_type", n_boot=20, n_perm=20)  # types predict types
    >>> report.method, report.class_counts, round(report.auc, 3), report.leaks
    ('one-vs-rest macro AUC over 3 values', [27, 34, 29], 1.0, True)
    >>> coin = np.random.default_rng(0).choice(["heads", "tails"], size=90)         # unrelated to the types
    >>> with_coin = AuditLog(audit.events, {"coin": coin})
    >>> report = leakage_audit(with_coin, population, "coin", n_boot=20, n_perm=20)
    >>> report.method, round(report.auc, 3), [round(x, 3) for x in report.ci95], report.leaks
    ('binary', 0.605, [0.4, 0.636], False)
    """
    if not 0 < threshold < 1 or n_folds < 2 or n_boot < 1 or n_perm < 1 or l2 < 0:
        raise ValueError(f"threshold in (0, 1), n_folds >= 2, n_boot >= 1, n_perm >= 1 and l2 >= 0 are "
                         f"required, got {threshold}, {n_folds}, {n_boot}, {n_perm}, {l2}")
    values, classes, counts = _attribute(log, attribute)
    report = progress or _quiet
    inf = inference or infer_types(log.events, population, features, progress=lambda m, f: report(m, 0.3 * f))
    rng = np.random.default_rng([seed, 23])
    targets = classes[1:] if len(classes) == 2 else classes
    fit = _CrossFit(inf.probs, np.stack([values == c for c in targets], axis=0), values, n_folds, l2)
    report("cross-fitting", 0.3)
    per_class = _cross_fit_auc(fit.X, fit.Y, stratified_folds(values, n_folds, rng), l2)
    auc = float(np.mean(per_class))
    boot = fit.bootstrap(n_boot, rng, report)
    perm = fit.permutation_null(n_perm, rng, report)
    report("done", 1.0)
    with _no_nan_warnings():
        lo, hi = stats.interval(boot, omit_nan=True)
    ci = (float(lo), float(hi))
    p_value = float((1 + np.sum(perm >= auc)) / (1 + n_perm))
    perm_lo, perm_hi = stats.interval(perm)
    perm_ci = (float(perm_lo), float(perm_hi))
    method = "binary" if len(classes) == 2 else f"one-vs-rest macro AUC over {len(classes)} values"
    warning = None
    if ci[0] > threshold:
        warning = (f"inferred types predict {attribute!r} with AUC {auc:.3f} (95% CI {ci[0]:.3f}-{ci[1]:.3f}, "
                   f"chance 0.5): the CI's lower bound is above the {threshold:g} threshold, so the types leak "
                   f"this attribute")
    config = {"features": f"type probabilities ({population.n_types} types + novel)", "model":
              "L2-penalised logistic regression (Newton), cross-fitted", "n_folds": n_folds, "l2": l2,
              "folds": "stratified by the attribute, seeded", "n_boot": n_boot, "n_perm": n_perm, "seed": seed,
              "ci": "95% percentile bootstrap over users, cross-fitting refitted on every resample (a user's copies "
              "share a fold; folds stratified over the resample)", "permutation": "attribute shuffled over users, cross-fitting refitted",
              "feature_source": inf.feature_source}
    return LeakageReport(attribute, method, classes, counts, classes[1] if len(classes) == 2 else None, auc, ci,
                         {str(c): float(a) for c, a in zip(targets, per_class)}, p_value, perm_ci, threshold,
                         warning, fit.X.shape[0], config, log.source)


def _attribute(log: AuditLog, attribute: str) -> tuple[np.ndarray, list[str], list[int]]:
    """The column ``attribute`` (one value per user), its distinct values in order and their counts; at least
    two values, each of at least two users."""
    values = log.column(attribute, "--attribute")
    classes = _sorted_labels(values)
    counts = [int((values == c).sum()) for c in classes]
    if len(classes) < 2:
        raise ValueError(f"--attribute {attribute!r}: expected at least two values to predict, got only "
                         f"{classes[0]!r} for all {values.shape[0]} users")
    if min(counts) < 2:
        c = classes[int(np.argmin(counts))]
        raise ValueError(f"--attribute {attribute!r}: expected at least 2 users per value, got {min(counts)} with "
                         f"value {c!r}")
    return values, classes, counts


@dataclass(frozen=True)
class _CrossFit:
    """The cross-fitted AUC's problem: features ``X (N, p)``, targets ``Y (C, N)`` (one row per value
    predicted), the attribute's ``values`` the folds are stratified by, ``n_folds`` and the penalty ``l2``.
    Its intervals refit the cross-fitted models every time (the module docstring says why)."""

    X: np.ndarray
    Y: np.ndarray
    values: np.ndarray
    n_folds: int
    l2: float

    def bootstrap(self, n_boot: int, rng: np.random.Generator, report: Progress) -> np.ndarray:
        """The macro AUC on ``n_boot`` resamples of the users. The bootstrap refits on every resample, so the CI
        carries the models' own variability (with scores held fixed it is far too narrow under the null); its
        folds are stratified over the resample as the estimate's are over the users, so the interval is of the
        estimate (resample_folds). One resample at a time (block=1): its folds are drawn after it."""

        def refit(resample: np.ndarray) -> np.ndarray:
            idx = resample[0]
            folds = resample_folds(idx, self.values, self.n_folds, rng)
            with _no_nan_warnings():
                return np.array([np.nanmean(_cross_fit_auc(self.X[idx], self.Y[:, idx], folds, self.l2))])

        return stats.bootstrap(refit, self.X.shape[0], n_boot, rng, block=1, progress=lambda b: report(
            "bootstrap (refitting)", 0.3 + 0.45 * b / n_boot) if b % 20 == 0 else None)

    def permutation_null(self, n_perm: int, rng: np.random.Generator, report: Progress) -> np.ndarray:
        """The macro AUC with the attribute shuffled over users, ``n_perm`` times."""
        perm = np.empty(n_perm)
        for b in range(n_perm):
            if b % 20 == 0:
                report("permutation null (refitting)", 0.75 + 0.25 * b / n_perm)
            shuffled = rng.permutation(self.X.shape[0])
            folds = stratified_folds(self.values[shuffled], self.n_folds, rng)
            perm[b] = np.mean(_cross_fit_auc(self.X, self.Y[:, shuffled], folds, self.l2))
        return perm
