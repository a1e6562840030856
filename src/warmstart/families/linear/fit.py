"""Population fit by EM on user summaries.

The E-step is exact: every user's log evidence and posterior under every type is closed form (see
``warmstart.families.linear.model``). The M-step sums responsibility-weighted posterior moments, so a pass is
vectorised over users in chunks (map) and reduced over chunks (reduce). Around plain EM:

- **restarts**: ``n_init`` k-means++ initialisations on per-user ridge estimates, seeded;
- **model selection**: K over ``k_range`` by BIC (default) or by held-out log likelihood, all reported;
- **split and merge moves** (after Ueda et al., 2000, "SMEM algorithm for mixture models"): at the chosen K,
  merge the two most overlapping types while splitting the broadest one, and try splitting the broadest type
  into two (K + 1) when BIC prefers it, so that a small type is not left absorbed by a big one;
- **a sample first** (``init_sample``): for very many users, the whole fit runs on a random sample and EM on
  every user then starts from its parameters, so the passes over all users are few;
- **the novel component**: a broad Gaussian equal to the population's overall prior (the moment-matched
  marginal of the fitted types, times ``novel_scale``) with a learned weight floored at ``novel_floor``, so a
  user who fits no type is recognised rather than forced into one.

The EM passes, the BIC and the moves are in ``warmstart.families.linear.em``; this module runs the fit around them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from warmstart._cluster import kmeans_pp
from warmstart._validate import check_k_choice
from warmstart.families.linear.backend import IN_PROCESS, Backend
from warmstart.families.linear.diagnostics import FitDiagnostics
from warmstart.families.linear.em import _bic, _em, _Fit, _moves, _pass, _with_novel
from warmstart.families.linear.fair import FairAttribute, fit_fair
from warmstart.families.linear.model import GaussianTypes, Summary, ridge
from warmstart.families.linear.population import Population
from warmstart.families.linear.shards import SummaryShards

Progress = Callable[[str, float], None]


@dataclass(frozen=True, kw_only=True)
class FitConfig:
    """Settings of the population fit; validated once at construction.

    >>> FitConfig(n_types=3, split_merge=False).k_range        # n_types fixes K; k_range is then unused
    (1, 12)
    >>> FitConfig(selection="aic")
    Traceback (most recent call last):
    ...
    ValueError: selection: expected 'bic' or 'heldout', got 'aic'
    """

    n_types: int | None = None
    k_range: tuple[int, int] = (1, 12)
    selection: Literal["bic", "heldout"] = "bic"
    covariance: Literal["full", "diag", "spherical"] = "full"
    reg: float = 1e-3
    n_init: int = 2
    max_iter: int = 200
    select_max_iter: int = 60
    tol: float = 1e-6
    split_merge: bool = True
    novel_floor: float = 0.01
    novel_scale: float = 1.0
    heldout_fraction: float = 0.2
    patience: int = 2
    chunk: int = 2000
    seed: int = 0
    init_sample: int | None = None

    def __post_init__(self) -> None:
        if self.chunk < 1:
            raise ValueError(f"chunk: expected at least 1 user per E-step chunk, got {self.chunk}")
        if self.init_sample is not None and self.init_sample < 2:
            raise ValueError(f"init_sample: expected None or at least 2 users, got {self.init_sample}")
        check_k_choice(self.k_range, self.n_types)
        if self.selection not in ("bic", "heldout"):
            raise ValueError(f"selection: expected 'bic' or 'heldout', got {self.selection!r}")
        if self.covariance not in ("full", "diag", "spherical"):
            raise ValueError(f"covariance: expected 'full', 'diag' or 'spherical', got {self.covariance!r}")
        if self.reg < 0 or self.n_init < 1 or self.max_iter < 1 or self.tol <= 0:
            raise ValueError("reg >= 0, n_init >= 1, max_iter >= 1 and tol > 0 are required")
        if not 0 < self.novel_floor < 0.5:
            raise ValueError(f"novel_floor: expected a value in (0, 0.5), got {self.novel_floor}")
        if self.novel_scale <= 0:
            raise ValueError(f"novel_scale: expected a positive number, got {self.novel_scale}")
        if not 0 < self.heldout_fraction < 1:
            raise ValueError(f"heldout_fraction: expected a value in (0, 1), got {self.heldout_fraction}")


# ---------------------------------------------------------------------------------------------- init
def ridge_estimates(summary: Summary, lam: float | None = None) -> np.ndarray:
    """Per-user ridge estimates of theta, used for initialisation and by simple baselines.

    >>> import warmstart as ws
    >>> truth = ws.sim.LinearTypesPopulation(ws.sim.LinearTypesConfig(dim=3, n_types=3, minority_share=0.3,
    ...                                                                 outlier_share=0.0))
    >>> stats = ws.summarise_log(truth.logged(90, 20, seed=0))          # 90 users of 3 types, 20 events each
    >>> ridge_estimates(stats).shape
    (90, 3)
    """
    d = summary.dim
    if lam is None:
        lam = 0.1 * float(np.mean(np.einsum("nii->n", summary.A))) / d + 1e-6
    return ridge(summary.A, summary.b, lam)


def _init_from_labels(
    summary: Summary, theta_hat: np.ndarray, labels: np.ndarray, k: int, cfg: FitConfig
) -> tuple[GaussianTypes, np.ndarray]:
    d = summary.dim
    resid = summary.c - 2 * np.einsum("ni,ni->n", summary.b, theta_hat)
    resid += np.einsum("ni,nij,nj->n", theta_hat, summary.A, theta_hat)
    noise0 = max(float(resid.sum() / max(summary.n.sum(), 1.0)), 1e-3)
    mu = np.zeros((k, d))
    cov = np.zeros((k, d, d))
    overall = np.cov(theta_hat.T).reshape(d, d) + cfg.reg * np.eye(d)
    w = np.zeros(k)
    for j in range(k):
        members = theta_hat[labels == j]
        w[j] = max(len(members), 1)
        if len(members) > d:
            mu[j] = members.mean(0)
            cov[j] = np.cov(members.T) + cfg.reg * np.eye(d)
        elif len(members):
            mu[j] = members.mean(0)
            cov[j] = np.diag(np.diag(overall)) * 0.25
        else:
            mu[j] = theta_hat[0]
            cov[j] = overall
    w = w / w.sum() * (1 - cfg.novel_floor)
    types = GaussianTypes(mu, cov, np.full(k, noise0))
    return _with_novel(types, w, noise0, cfg), np.append(w, cfg.novel_floor)


def _best_of_restarts(
    summary: Summary, theta_hat: np.ndarray, k: int, cfg: FitConfig, rng, max_iter: int | None = None,
    backend: Any = None,
) -> _Fit:
    best: _Fit | None = None
    for _ in range(cfg.n_init):
        labels = kmeans_pp(theta_hat, k, rng) if k > 1 else np.zeros(summary.n_users, dtype=int)
        comps, w = _init_from_labels(summary, theta_hat, labels, k, cfg)
        fit = _em(summary, comps, w, cfg, max_iter=max_iter, backend=backend)
        if best is None or fit.loglik > best.loglik:
            best = fit
        if k == 1:
            break
    assert best is not None
    return best


# ---------------------------------------------------------------------------------------------- public
def fit_population(summary: Summary | SummaryShards, config: FitConfig | None = None,
                   progress: Progress | None = None, backend: Backend | None = None, *,
                   fair_attribute: FairAttribute | None = None, start: Population | None = None) -> Population:
    """Fit K user types (K chosen from the data unless ``config.n_types`` is set) plus the novel component.

    ``start``: EM starts from this population's types and weights (the novel component included) instead of
    restarts, with its K (``config.n_types``, ``k_range`` and ``init_sample`` unused; the moves as
    ``config.split_merge`` says; shards are read whole): a warm start for a population refitted on
    statistics that changed a little (``type_refine``).

    ``summary`` is the users' statistics in memory, or Parquet shards of them (``warmstart.families.linear.shards``): with
    ``config.init_sample`` only the sample is read into memory and every pass over all users streams the shards
    (or runs where ``backend`` puts it), otherwise the shards are read whole. ``backend`` runs the E-step passes
    (``warmstart.families.linear.backend``: in this process by default, or on Ray); every backend gives the same
    population as this process, because each keeps the chunks and sums them in the same order.

    ``fair_attribute`` (a ``FairAttribute``: a name and one value per user) fits *fair types* instead, whose
    responsibilities carry no information about the attribute (``warmstart.families.linear.fair``: how, what is
    and is not removed, and K); the population's ``diagnostics.fair`` records it. Users in memory only.

    >>> import warmstart as ws
    >>> truth = ws.sim.LinearTypesPopulation(ws.sim.LinearTypesConfig(dim=3, n_types=3, minority_share=0.3,
    ...                                                                 outlier_share=0.0))
    >>> stats = ws.summarise_log(truth.logged(90, 20, seed=0))          # 90 users of 3 types, 20 events each
    >>> population = fit_population(stats, FitConfig(k_range=(1, 5)))
    >>> population.n_types, population.diagnostics.selection, population.weights.round(2).tolist()  # + novel
    (3, 'bic', [0.3, 0.37, 0.32, 0.01])
    >>> population.components.mu[0].round(1).tolist(), truth.type_means[0].round(1).tolist()
    ([-1.6, 0.1, 0.7], [-1.6, 0.1, 0.7])
    """
    cfg = config or FitConfig()
    n = summary.n_users
    rng = np.random.default_rng(cfg.seed)
    report = progress or (lambda msg, frac: None)
    if fair_attribute is not None:
        return _fit_fair_population(summary, fair_attribute, cfg, report, backend)
    if isinstance(summary, SummaryShards):
        if start is None and cfg.init_sample is not None and n > cfg.init_sample:
            return _fit_from_sample(summary, cfg, rng, report, backend)
        summary = summary.read_all()
    summary.validate()
    if n < 2:
        raise ValueError(f"summary: expected at least 2 users to fit a population, got {n}")
    if np.all(summary.n == 0):
        raise ValueError("summary.n: every user has zero events; nothing to fit")
    if start is not None:
        return _fit_from_start(summary, start, cfg, report, backend)
    if cfg.init_sample is not None and n > cfg.init_sample:
        return _fit_from_sample(summary, cfg, rng, report, backend)
    theta_hat = ridge_estimates(summary)
    ks = [cfg.n_types] if cfg.n_types is not None else list(range(cfg.k_range[0], cfg.k_range[1] + 1))
    ks = [k for k in ks if k < n]
    if cfg.selection == "heldout" and cfg.n_types is None:
        perm = rng.permutation(n)
        n_hold = max(1, round(cfg.heldout_fraction * n))
        hold, train = perm[:n_hold], perm[n_hold:]
        train_s, hold_s, train_th = summary[train], summary[hold], theta_hat[train]
    else:
        train_s, hold_s, train_th = summary, None, theta_hat
    best_k, best_fit, path = _k_path(train_s, train_th, hold_s, ks, cfg, rng, report, backend)
    if hold_s is not None:
        report(f"refit on all users with K = {best_k}", 0.9)
        best_fit = _best_of_restarts(summary, theta_hat, best_k, replace(cfg, n_init=max(1, cfg.n_init)), rng,
                                     backend=backend)
    if not best_fit.converged:
        best_fit = _em(summary, best_fit.comps, best_fit.weights, cfg, backend=backend)
    moves: list[dict[str, Any]] = []
    if cfg.split_merge and best_k >= 1:
        report("split and merge moves", 0.95)
        best_fit = _moves(summary, best_fit, cfg, moves, backend)
    report("done", 1.0)
    return _population(best_fit, summary, cfg, "fixed" if cfg.n_types is not None else cfg.selection,
                       {"k_path": path, "moves": moves})


def _population(fit: _Fit, summary: Summary, cfg: FitConfig, selection: str, extra: dict[str, Any]) -> Population:
    """The population of ``fit`` with its diagnostics (``extra``: the ``k_path``, ``moves`` and any more)."""
    diagnostics = FitDiagnostics.from_dict({
        "n_users": summary.n_users, "n_events": float(summary.n.sum()), "dim": summary.dim,
        "selected_k": fit.comps.n_components - 1, "selection": selection, "loglik": fit.loglik,
        "bic": _bic(fit, summary.n_users, cfg), "n_iter": fit.n_iter, "converged": fit.converged,
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.__dict__.items()}, **extra})
    return Population(fit.comps, fit.weights, diagnostics)


def _fit_from_start(summary: Summary, start: Population, cfg: FitConfig, report: Progress,
                    backend: Backend | None) -> Population:
    """``fit_population`` warm-started from ``start`` (same dimension)."""
    if start.dim != summary.dim:
        raise ValueError(f"start: expected a population of dimension {summary.dim} (the summary's), got "
                         f"{start.dim}")
    fit = _em(summary, start.components, start.weights, cfg, backend=backend)
    moves: list[dict[str, Any]] = []
    if cfg.split_merge:
        report("split and merge moves", 0.95)
        fit = _moves(summary, fit, cfg, moves, backend)
    report("done", 1.0)
    return _population(fit, summary, cfg, "fixed", {"k_path": [], "moves": moves})


def _fit_fair_population(summary: Summary | SummaryShards, attr: FairAttribute, cfg: FitConfig, report: Progress,
                         backend: Backend | None) -> Population:
    """``fit_population`` with a fair attribute (``warmstart.families.linear.fair.fit_fair``)."""
    if isinstance(summary, SummaryShards) or backend not in (None, IN_PROCESS) or cfg.init_sample is not None:
        raise ValueError("fair_attribute: the fair fit runs on users in memory, in this process and without "
                         "init_sample; got shards, a backend or init_sample")
    summary.validate()
    n = summary.n_users
    if n < 2 or np.all(summary.n == 0):
        raise ValueError(f"summary: expected at least 2 users with events to fit a population, got {n}")
    if attr.codes.shape != (n,):
        raise ValueError(f"fair_attribute {attr.name!r}: expected one value per user ({n}), got "
                         f"{attr.codes.shape[0]}")
    fit, record = fit_fair(summary, attr, cfg, report)
    report("done", 1.0)
    return _population(fit, summary, cfg, "fixed" if cfg.n_types is not None else "bic (fair)",
                       {"k_path": record.pop("k_path"), "moves": [], "fair": record})


def _k_path(train_s: Summary, train_th: np.ndarray, hold_s: Summary | None, ks: list[int], cfg: FitConfig,
            rng: np.random.Generator, report: Progress, backend: Backend | None
            ) -> tuple[int, _Fit, list[dict[str, Any]]]:
    """EM (best of restarts, ``select_max_iter`` iterations) for each K in ``ks`` in turn, scored by BIC or by
    the held-out log likelihood of ``hold_s``, until ``patience`` K in a row do not improve on the best. Returns
    the best K, its fit and the path (one entry per K tried)."""
    path: list[dict[str, Any]] = []
    best_k, best_score, best_fit = None, np.inf, None
    since_best = 0
    for idx, k in enumerate(ks):
        report(f"EM with K = {k}", idx / max(len(ks), 1))
        fit = _best_of_restarts(train_s, train_th, k, cfg, rng, max_iter=cfg.select_max_iter, backend=backend)
        entry: dict[str, Any] = {"K": k, "loglik": fit.loglik, "bic": _bic(fit, train_s.n_users, cfg),
                                 "n_iter": fit.n_iter, "converged": fit.converged}
        if hold_s is not None:
            entry["heldout_loglik"] = _pass(hold_s, fit.comps, fit.weights, cfg.chunk, moments=False,
                                            backend=backend)[0]
            score = -entry["heldout_loglik"]
        else:
            score = entry["bic"]
        path.append(entry)
        if score < best_score:
            best_k, best_score, best_fit, since_best = k, score, fit, 0
        else:
            since_best += 1
            if since_best >= cfg.patience:
                break
    assert best_fit is not None and best_k is not None
    return best_k, best_fit, path


def _fit_from_sample(summary: Summary | SummaryShards, cfg: FitConfig, rng: np.random.Generator, report: Progress,
                     backend: Backend | None) -> Population:
    """The whole fit (K chosen, restarts, moves) on ``init_sample`` users drawn at random, then EM on every user
    from its parameters: the same fixed point as a full fit, reached in a few passes over all users instead of
    dozens (each pass over a million users costs seconds)."""
    assert cfg.init_sample is not None
    n = summary.n_users
    sample = np.sort(rng.choice(n, size=cfg.init_sample, replace=False))
    sub = fit_population((backend or IN_PROCESS).take(summary, sample), replace(cfg, init_sample=None),
                         lambda msg, frac: report(f"sample of {cfg.init_sample:,}: {msg}", 0.5 * frac), backend)
    report(f"EM on all {n:,} users from the sample's fit", 0.5)
    fit = _em(summary, sub.components, sub.weights, cfg, backend=backend)
    report("done", 1.0)
    sub_diag = sub.diagnostics
    diagnostics = sub_diag.replace(
        n_users=n,
        n_events=summary.n_events if isinstance(summary, SummaryShards) else float(summary.n.sum()),
        loglik=fit.loglik,
        bic=_bic(fit, n, cfg),
        n_iter=fit.n_iter,
        converged=fit.converged,
        init_sample={"n_users": int(cfg.init_sample), "n_iter": sub_diag.n_iter,
                     "loglik": sub_diag.loglik, "selected_k": sub_diag.selected_k},
        config={k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.__dict__.items()},
    )
    return Population(fit.comps, fit.weights, diagnostics)


def responsibilities(summary: Summary, population: Population, chunk: int = 2000) -> np.ndarray:
    """Posterior probability of every type (and novel, last column) for every user, ``(N, K + 1)``.

    >>> import warmstart as ws
    >>> truth = ws.sim.LinearTypesPopulation(ws.sim.LinearTypesConfig(dim=3, n_types=3, minority_share=0.3,
    ...                                                                 outlier_share=0.0))
    >>> stats = ws.summarise_log(truth.logged(90, 20, seed=0))          # 90 users of 3 types, 20 events each
    >>> population = fit_population(stats, FitConfig(n_types=3, split_merge=False))
    >>> resp = responsibilities(stats, population)
    >>> resp.shape, float(resp.sum(axis=1).round(6).max()), resp.argmax(axis=1)[:8].tolist()
    ((90, 4), 1.0, [0, 1, 1, 1, 2, 2, 0, 2])
    >>> truth.logged(90, 20, seed=0).users.type_id[:8].tolist()  # the same groups; labels are the fit's
    [1, 0, 0, 0, 2, 2, 1, 2]
    """
    summary.validate()
    if summary.dim != population.dim:
        raise ValueError(f"summary: expected dimension {population.dim}, got {summary.dim}")
    return _pass(summary, population.components, population.weights, chunk, moments=False)[1]
