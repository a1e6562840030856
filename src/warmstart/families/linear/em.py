"""EM on user summaries, and the moves around it: one E-step pass over every user (on a backend), the M-step,
EM to convergence, the BIC, and the split, merge and remove moves (after Ueda et al., 2000, "SMEM algorithm for
mixture models").

The fit (``warmstart.families.linear.fit.fit_population``) drives them: it starts EM from k-means++ restarts,
chooses K and runs a sample first; the incremental and the differentially private fits reuse the M-step. Every
fit carries the novel component last: a broad Gaussian equal to the population's overall prior
(``_with_novel``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from warmstart.families.linear.backend import IN_PROCESS, Backend
from warmstart.families.linear.model import GaussianTypes, Summary
from warmstart.families.linear.shards import SummaryShards

if TYPE_CHECKING:
    from warmstart.families.linear.fit import FitConfig


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


def _n_params(k: int, d: int, covariance: str) -> int:
    cov = {"full": d * (d + 1) // 2, "diag": d, "spherical": 1}[covariance]
    return k * (d + cov + 2) - 1 + 2  # means, covs, noises, weights; novel weight and noise


def _bic(fit: _Fit, n_users: int, cfg: FitConfig) -> float:
    k = fit.comps.n_components - 1
    return -2.0 * fit.loglik + _n_params(k, fit.comps.dim, cfg.covariance) * math.log(n_users)


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
