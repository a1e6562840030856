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
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from warmstart._cluster import kmeans_pp
from warmstart._validate import check_k_choice
from warmstart.families.linear.backend import IN_PROCESS, Backend
from warmstart.families.linear.diagnostics import FitDiagnostics
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


@dataclass
class _Fit:
    comps: GaussianTypes  # K types + novel (last)
    weights: np.ndarray
    loglik: float
    n_iter: int
    converged: bool


# ---------------------------------------------------------------------------------------------- EM core
def _novel(types: GaussianTypes, w: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """The population's overall prior made broad: the types' moment-matched mean, and an isotropic covariance
    with the population's overall variance per dimension (times ``scale``). Isotropic, because the spread of a
    handful of type means spans few directions and a novel user may differ in any."""
    p = w / w.sum()
    mu0 = p @ types.mu
    second = np.einsum("k,kij->ij", p, types.cov + np.einsum("ki,kj->kij", types.mu, types.mu))
    var = float(np.trace(second - np.outer(mu0, mu0))) / types.dim
    return mu0, scale * var * np.eye(types.dim)


def _with_novel(types: GaussianTypes, w: np.ndarray, noise0: float, cfg: FitConfig) -> GaussianTypes:
    mu0, cov0 = _novel(types, w, cfg.novel_scale)
    return GaussianTypes(
        np.vstack([types.mu, mu0]),
        np.concatenate([types.cov, cov0[None]]),
        np.append(types.noise_var, noise0),
    )


def _pass(summary: Summary | SummaryShards, comps: GaussianTypes, weights: np.ndarray, chunk: int,
          moments: bool = True, backend: Backend | None = None) -> tuple[float, Any]:
    """One E-step over all users in chunks; returns log likelihood and (``moments``) the M-step sums or (not
    ``moments``) the responsibilities. ``backend`` decides where the chunks run (here by default)."""
    return (backend or IN_PROCESS).e_step(summary, comps, weights, chunk, moments)


def _m_step(stats, comps: GaussianTypes, cfg: FitConfig, n_users: int) -> tuple[GaussianTypes, np.ndarray]:
    W, Sm, Smm, Sres, Sn = stats
    K = W.shape[0] - 1
    d = Sm.shape[1]
    Wk = np.maximum(W[:K], 1e-10)
    mu = Sm[:K] / Wk[:, None]
    cov = Smm[:K] / Wk[:, None, None] - np.einsum("ki,kj->kij", mu, mu)
    cov = 0.5 * (cov + np.transpose(cov, (0, 2, 1)))
    if cfg.covariance == "diag":
        cov = np.einsum("kii->ki", cov)[:, :, None] * np.eye(d)
    elif cfg.covariance == "spherical":
        cov = (np.einsum("kii->k", cov) / d)[:, None, None] * np.eye(d)
    cov = cov + cfg.reg * np.eye(d)
    noise = np.maximum(Sres / np.maximum(Sn, 1e-10), 1e-6)
    # a component that lost all its users keeps its previous noise
    noise = np.where(Sn > 1e-8, noise, comps.noise_var)
    w = W / n_users
    w_nov = max(w[K], cfg.novel_floor)
    wk = np.maximum(w[:K], 1e-12)
    wk = wk / wk.sum() * (1.0 - w_nov)
    types = GaussianTypes(mu, cov, noise[:K])
    comps = _with_novel(types, wk, float(noise[K]), cfg)
    return comps, np.append(wk, w_nov)


def _em(summary: Any, comps: GaussianTypes, weights: np.ndarray, cfg: FitConfig, max_iter=None,
        backend: Any = None) -> _Fit:
    prev = -np.inf
    n = summary.n_users
    max_iter = cfg.max_iter if max_iter is None else max_iter
    converged = False
    it = 0
    ll = -np.inf
    for it in range(1, max_iter + 1):
        ll, stats = _pass(summary, comps, weights, cfg.chunk, backend=backend)
        if it > 1 and abs(ll - prev) <= cfg.tol * max(abs(ll), 1.0):
            converged = True
            break
        prev = ll
        comps, weights = _m_step(stats, comps, cfg, n)
    return _Fit(comps, weights, ll, it, converged)


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


def _n_params(k: int, d: int, covariance: str) -> int:
    cov = {"full": d * (d + 1) // 2, "diag": d, "spherical": 1}[covariance]
    return k * (d + cov + 2) - 1 + 2  # means, covs, noises, weights; novel weight and noise


def _bic(fit: _Fit, n_users: int, cfg: FitConfig) -> float:
    k = fit.comps.n_components - 1
    return -2.0 * fit.loglik + _n_params(k, fit.comps.dim, cfg.covariance) * math.log(n_users)


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


# ---------------------------------------------------------------------------------------------- moves
def _split_component(comps: GaussianTypes, w: np.ndarray, j: int) -> tuple[GaussianTypes, np.ndarray]:
    """Split type j into two along its principal axis; returns K+1 types (novel excluded)."""
    K = comps.n_components - 1
    mu, cov, nv = comps.mu[:K], comps.cov[:K], comps.noise_var[:K]
    vals, vecs = np.linalg.eigh(cov[j])
    step = np.sqrt(vals[-1]) * vecs[:, -1]
    shrink = cov[j] - 0.75 * vals[-1] * np.outer(vecs[:, -1], vecs[:, -1])
    mu_new = np.vstack([mu, mu[j] - step])
    mu_new[j] = mu[j] + step
    cov_new = np.concatenate([cov, shrink[None]])
    cov_new[j] = shrink
    wk = np.append(w[:K], w[j] / 2)
    wk[j] /= 2
    return GaussianTypes(mu_new, cov_new, np.append(nv, nv[j])), wk


def _merge_components(types: GaussianTypes, wk: np.ndarray, i: int, j: int) -> tuple[GaussianTypes, np.ndarray]:
    p = wk[[i, j]] / wk[[i, j]].sum()
    mu = p[0] * types.mu[i] + p[1] * types.mu[j]
    second = sum(
        p[a] * (types.cov[t] + np.outer(types.mu[t], types.mu[t])) for a, t in enumerate((i, j))
    )
    cov = second - np.outer(mu, mu)
    keep = [t for t in range(types.n_components) if t not in (i, j)]
    new = GaussianTypes(
        np.vstack([types.mu[keep], mu]),
        np.concatenate([types.cov[keep], cov[None]]),
        np.append(types.noise_var[keep], p @ types.noise_var[[i, j]]),
    )
    return new, np.append(wk[keep], wk[[i, j]].sum())


def _broadness(comps: GaussianTypes) -> np.ndarray:
    K = comps.n_components - 1
    return np.linalg.slogdet(comps.cov[:K])[1]


def _accept_by_bic(fit: _Fit, cand: _Fit, n: int, cfg: FitConfig, log: list, entry: dict) -> tuple[_Fit, bool]:
    """Keep ``cand`` if its BIC is lower; record the move either way."""
    before, after = _bic(fit, n, cfg), _bic(cand, n, cfg)
    accepted = after < before
    log.append({**entry, "bic_before": before, "bic_after": after, "accepted": bool(accepted)})
    return (cand if accepted else fit), accepted


def _moves(summary: Summary, fit: _Fit, cfg: FitConfig, log: list[dict[str, Any]], backend: Any = None) -> _Fit:
    """Split-and-merge at fixed K, then split moves that raise K while BIC improves."""
    n = summary.n_users
    for _round in range(3):
        K = fit.comps.n_components - 1
        improved = False
        if K >= 3:
            _, resp = _pass(summary, fit.comps, fit.weights, cfg.chunk, moments=False, backend=backend)
            R = resp[:, :K]
            norms = np.linalg.norm(R, axis=0) + 1e-12
            overlap = (R.T @ R) / np.outer(norms, norms)
            np.fill_diagonal(overlap, -1)
            pairs = np.dstack(np.unravel_index(np.argsort(-overlap, axis=None), overlap.shape))[0]
            pairs = [(int(a), int(b)) for a, b in pairs if a < b][:3]
            order = np.argsort(-_broadness(fit.comps))
            for i, j in pairs:
                target = next(int(t) for t in order if t not in (i, j))
                split, wk = _split_component(fit.comps, fit.weights, target)
                # indices i, j are unchanged by appending the split half at the end
                merged, wk = _merge_components(split, wk, i, j)
                wk = wk / wk.sum() * (1 - fit.weights[-1])
                comps = _with_novel(merged, wk, float(fit.comps.noise_var[-1]), cfg)
                cand = _em(summary, comps, np.append(wk, fit.weights[-1]), cfg, backend=backend)
                accepted = cand.loglik > fit.loglik + 1e-6 * abs(fit.loglik)
                log.append({"move": "split-merge", "merge": [i, j], "split": target, "K": K,
                            "loglik_before": fit.loglik, "loglik_after": cand.loglik, "accepted": bool(accepted)})
                if accepted:
                    fit = cand
                    improved = True
                    break
        # split moves: K -> K + 1 while BIC improves; every type is a candidate, the best BIC wins
        K = fit.comps.n_components - 1
        if cfg.n_types is None and K < cfg.k_range[1]:
            best_cand, best_target = None, -1
            for target in range(K):
                split, wk = _split_component(fit.comps, fit.weights, target)
                wk = wk / wk.sum() * (1 - fit.weights[-1])
                comps = _with_novel(split, wk, float(fit.comps.noise_var[-1]), cfg)
                cand = _em(summary, comps, np.append(wk, fit.weights[-1]), cfg, max_iter=40, backend=backend)
                if best_cand is None or cand.loglik > best_cand.loglik:
                    best_cand, best_target = cand, target
            assert best_cand is not None
            cand = _em(summary, best_cand.comps, best_cand.weights, cfg, backend=backend)
            fit, accepted = _accept_by_bic(fit, cand, n, cfg, log, {"move": "split", "split": best_target, "K": K})
            improved = improved or accepted
        # remove move: the broadest type may only duplicate the novel component; drop it when BIC agrees
        K = fit.comps.n_components - 1
        if cfg.n_types is None and K > max(1, cfg.k_range[0]):
            target = int(np.argmax(_broadness(fit.comps)))
            keep = [t for t in range(K) if t != target]
            types = fit.comps.select(keep)
            w_nov = fit.weights[-1] + fit.weights[target]
            wk = fit.weights[keep] / fit.weights[keep].sum() * (1 - w_nov)
            comps = _with_novel(types, wk, float(fit.comps.noise_var[-1]), cfg)
            cand = _em(summary, comps, np.append(wk, w_nov), cfg, backend=backend)
            fit, accepted = _accept_by_bic(fit, cand, n, cfg, log, {"move": "remove", "remove": target, "K": K})
            improved = improved or accepted
        if not improved:
            break
    return fit


# ---------------------------------------------------------------------------------------------- public
def fit_population(summary: Summary | SummaryShards, config: FitConfig | None = None,
                   progress: Progress | None = None, backend: Backend | None = None) -> Population:
    """Fit K user types (K chosen from the data unless ``config.n_types`` is set) plus the novel component.

    ``summary`` is the users' statistics in memory, or Parquet shards of them (``warmstart.families.linear.shards``): with
    ``config.init_sample`` only the sample is read into memory and every pass over all users streams the shards
    (or runs where ``backend`` puts it), otherwise the shards are read whole. ``backend`` runs the E-step passes
    (``warmstart.families.linear.backend``: in this process by default, or on Ray); every backend gives the same
    population as this process, because each keeps the chunks and sums them in the same order.

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
    if isinstance(summary, SummaryShards):
        if cfg.init_sample is not None and n > cfg.init_sample:
            return _fit_from_sample(summary, cfg, rng, report, backend)
        summary = summary.read_all()
    summary.validate()
    if n < 2:
        raise ValueError(f"summary: expected at least 2 users to fit a population, got {n}")
    if np.all(summary.n == 0):
        raise ValueError("summary.n: every user has zero events; nothing to fit")
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
    K = best_fit.comps.n_components - 1
    diagnostics = FitDiagnostics.from_dict({
        "n_users": n,
        "n_events": float(summary.n.sum()),
        "dim": summary.dim,
        "selected_k": K,
        "selection": "fixed" if cfg.n_types is not None else cfg.selection,
        "k_path": path,
        "moves": moves,
        "loglik": best_fit.loglik,
        "bic": _bic(best_fit, n, cfg),
        "n_iter": best_fit.n_iter,
        "converged": best_fit.converged,
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.__dict__.items()},
    })
    return Population(best_fit.comps, best_fit.weights, diagnostics)


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
