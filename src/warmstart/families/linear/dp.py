"""A differentially private population fit: DP-EM on clipped per-user contributions.

The non-private fit (``warmstart.families.linear.fit``) sums responsibility-weighted posterior moments over users in
every M-step. Here, as in DP-EM (Park, Foulds, Chaudhuri and Welling, 2017, "DP-EM: Differentially Private
Expectation Maximization"), each user's contribution to those sums is clipped to a known bound and Gaussian
noise calibrated to that bound is added to the sums (the Gaussian mechanism, Dwork and Roth, 2014, "The
Algorithmic Foundations of Differential Privacy", section 3.5 and appendix A). The mixture is fitted for a
*fixed* number of types ``n_types`` and a *fixed* number of iterations: choosing K by BIC or stopping EM when
the log likelihood settles would read the data outside the mechanisms and would need privacy budget of their
own, so neither is done (a private model selection is left to a caller who spends budget on it).

What is released, and so must be private (unit: one user, add or remove; the user's whole summary):

1. **Initialisation** (``init_iterations`` rounds of noisy Lloyd on clipped per-user ridge estimates, started
   from data-independent seeded centres; ``init_centres`` centres, more than K, then reduced to K by a weighted
   k-means on the noisy centres alone, which is post-processing). Each round releases, per centre, the noisy
   count of users nearest to it and the noisy sum of their ridge estimates, each estimate clipped to norm
   ``clip_theta``. The ridge penalty is the public ``ridge``, not one computed from the data.
2. **EM iterations**. Each releases, per component ``k`` (the K types and the novel component), with ``r_k`` the
   user's responsibility under the previous *released* parameters:

   - count: ``r_k``                                                  (all K + 1 components)
   - mean: ``r_k clip(m_k - mu_k, clip_dev)``                        (types) where ``m_k`` is the user's
     posterior mean and ``mu_k`` the previous released type mean: centring on a public point keeps the bound
     small, and the new mean is ``mu_k`` plus the noisy average deviation
   - second moment: ``r_k clip(Q_k, clip_second)`` with ``Q_k = dev dev' + S_k`` (``S_k`` the posterior
     covariance), as a full matrix, its diagonal, or its mean diagonal ``tr(Q_k) / d`` (``covariance``;
     ``clip_second / d`` then) (types)
   - residual: ``r_k min(n, clip_events) min(e / s_k, clip_residual)`` with ``e`` the user's expected
     squared residual per event and ``s_k`` the previous released noise variance: a ratio, so that its
     bound does not depend on the reward scale                      (all K + 1)
   - events: ``r_k min(n, clip_events)``                             (all K + 1)

   The M-step (``em._m_step``, reused) turns these into type means, covariances, noise variances and
   weights; the number of users it divides by is the noisy total count, not the true one. Before it, the
   noisy sums get a few *pseudo-users* at the previous parameters (as many as the block's noise is worth,
   ``pseudo_counts``; the noise variances shrink towards the pooled one), averages are projected onto the
   sets the exact ones lie in (the clip balls) and covariances onto positive definite matrices: a component
   the noise dominates then keeps its parameters instead of following the noise. All of that reads released
   numbers only, and so does the novel component (the moment-matched marginal of the noisy types): it is
   post-processing. Nothing else touches the data: no log likelihood, no convergence test, no true number of
   users or events goes into the result or its diagnostics.

**Sensitivity.** In one release, block ``b`` of a user's contribution is ``sum_k r_k e_k (x) u_bk`` with
``||u_bk|| <= Delta_b`` (the clip bound), so its norm is ``Delta_b sqrt(sum_k r_k^2) <= Delta_b`` because the
responsibilities are non-negative and sum to at most one (a one-hot assignment in the initialisation). Each
block is scaled by ``sqrt(share_b) / Delta_b`` with ``sum_b share_b = 1``, so the whole release has L2
sensitivity 1 under adding or removing one user, and adding ``N(0, z_round^2)`` to every coordinate is a
Gaussian mechanism with noise multiplier ``z_round``. The responsibilities, means and clip centres of a round
depend only on that user's own summary and on earlier *released* parameters, so the rounds compose adaptively.
A fraction ``init_share`` of the budget ``1 / z^2`` goes to the initialisation rounds and the rest to the EM
iterations, equally within each: ``z_round = z / sqrt(share of round)``. All rounds are composed with
Google's ``dp-accounting`` (privacy loss distributions by default; Renyi DP, Mironov 2017, "Renyi
Differential Privacy", on request), and ``z`` is the smallest multiplier for which the composition is
``(epsilon, delta)``-DP at user level.

**Not covered.** The dimension ``d``, the config and the fact that at least two users exist are public. The
noise comes from numpy's PCG64 generator in floating point: fine for research and evaluation, not hardened
against floating-point attacks (Mironov 2012, "On Significance of the Least Significant Bits for
Differential Privacy") or generator-state attacks. A fixed ``seed`` makes the noise reproducible and so must
never be published with a release: the default ``seed=None`` draws fresh entropy, and the seed is never
written into the population's metadata.

The settings (``DPConfig``) and the accounting of the budget are in ``warmstart.families.linear.dp_budget``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from warmstart.families.linear.diagnostics import FitDiagnostics
from warmstart.families.linear.dp_budget import (
    STAT_BLOCKS,
    UNIT,
    DPConfig,
    calibrate_noise,
    epsilon_spent,
    round_multipliers,
)
from warmstart.families.linear.em import _m_step, _with_novel
from warmstart.families.linear.fit import FitConfig
from warmstart.families.linear.model import (
    GaussianTypes,
    Summary,
    back_solve,
    batched_tri_inv,
    logsumexp_rows,
    ridge,
    type_posterior,
)
from warmstart.families.linear.population import Population


# ---------------------------------------------------------------------------------------------- clipping
def clip_rows(x: np.ndarray, bound: float) -> np.ndarray:
    """Rows of ``x`` (any trailing shape) scaled down so that each has L2 (Frobenius) norm at most ``bound``.

    >>> import numpy as np
    >>> clip_rows(np.array([[3.0, 4.0], [0.3, 0.4]]), bound=1.0).round(3).tolist()   # the second row fits
    [[0.6, 0.8], [0.3, 0.4]]
    """
    flat = x.reshape(x.shape[0], -1)
    norm = np.sqrt((flat * flat).sum(1))
    scale = np.minimum(1.0, bound / np.maximum(norm, 1e-300))
    return x * scale.reshape((-1,) + (1,) * (x.ndim - 1))


def second_bound(config: DPConfig, dim: int) -> float:
    """Sensitivity of the released second-moment statistic of one user under one type: ``clip_second`` bounds
    the Frobenius norm of ``Q`` (full), the norm of its diagonal (diag) or its trace (spherical, whose
    released statistic is ``tr(Q) / d``). With the default ``clip_second = clip_dev ** 2`` the deviation part
    of ``Q`` always fits; only a large posterior covariance is cut.

    >>> second_bound(DPConfig(), dim=4), second_bound(DPConfig(covariance="spherical"), dim=4)
    (4.0, 1.0)
    """
    return config.clip_second / dim if config.covariance == "spherical" else config.clip_second


def _second_stat(Q: np.ndarray, covariance: str) -> np.ndarray:
    if covariance == "full":
        return Q.reshape(Q.shape[0], -1)
    if covariance == "diag":
        return np.einsum("nii->ni", Q)
    return np.einsum("nii->n", Q)[:, None] / Q.shape[-1]


def em_contributions(
    summary: Summary, comps: GaussianTypes, weights: np.ndarray, config: DPConfig
) -> dict[str, np.ndarray]:
    """Per-user clipped contributions of one EM iteration, one row per (user, component) pair with
    non-negligible responsibility. Keys: ``user``, ``comp``, and one array per block (``count (P,)``,
    ``mean (P, d)``, ``second (P, s)``, ``residual (P,)``, ``events (P,)``; ``mean`` and ``second`` are zero
    for the novel component, whose shape is not estimated). Summing over ``user`` gives the statistics whose
    noisy version is released; used for a chunk, and by the tests to check the bounds user by user.

    >>> import numpy as np
    >>> from warmstart.families.linear.model import summarise
    >>> types = GaussianTypes(mu=np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]]),  # 2 types and the novel one
    ...                       cov=np.stack([0.1 * np.eye(2), 0.1 * np.eye(2), np.eye(2)]),
    ...                       noise_var=np.full(3, 0.25))
    >>> weights = np.array([0.5, 0.45, 0.05])
    >>> rewards = np.array([[1.0] * 3, [-1.0] * 3, [1.1] * 3, [0.0] * 3])            # 4 users, 3 events each
    >>> stats = summarise(np.tile([1.0, 0.0], (4, 3, 1)), rewards)
    >>> part = em_contributions(stats, types, weights, DPConfig(n_types=2))
    >>> part["user"][:3].tolist(), part["comp"][:3].tolist(), part["count"][:3].round(3).tolist()
    ([0, 0, 0], [0, 1, 2], [0.975, 0.0, 0.025])
    >>> part["mean"].shape, bool((np.linalg.norm(part["mean"], axis=1) <= 2.0).all())   # clipped to clip_dev
    ((12, 2), True)
    """
    K1, d = comps.mu.shape
    K = K1 - 1
    post = type_posterior(summary, comps, comps.precision(), need_mean=False)
    joint = post.log_evidence + np.log(weights)[None]
    resp = np.exp(joint - logsumexp_rows(joint)[:, None])
    # the pairs below 1e-10 are dropped: that can only shrink a user's contribution
    n_idx, k_idx = np.nonzero(resp > 1e-10)
    r = resp[n_idx, k_idx]
    L = post.chol[n_idx, k_idx]
    m = back_solve(L, post.mean[n_idx, k_idx])
    Li = batched_tri_inv(L)
    S = np.matmul(np.swapaxes(Li, -1, -2), Li)  # posterior covariance
    A = summary.A[n_idx]
    # expected residual sum of squares: c - 2 b.m + m'Am + tr(A S)
    res = (summary.c[n_idx] - 2 * (summary.b[n_idx] * m).sum(-1)
           + (m * np.matmul(A, m[..., None])[..., 0]).sum(-1) + (A * S).sum((-1, -2)))
    n = summary.n[n_idx]
    n_c = np.minimum(n, config.clip_events)
    ratio = np.clip(res / (np.maximum(n, 1e-12) * comps.noise_var[k_idx]), 0.0, config.clip_residual)
    is_type = (k_idx < K)[:, None]
    dev = clip_rows(m - comps.mu[k_idx], config.clip_dev)
    Q = dev[:, :, None] * dev[:, None, :] + S
    second = clip_rows(_second_stat(Q, config.covariance), second_bound(config, d))
    return {
        "user": n_idx,
        "comp": k_idx,
        "count": r,
        "mean": np.where(is_type, r[:, None] * dev, 0.0),
        "second": np.where(is_type, r[:, None] * second, 0.0),
        "residual": r * n_c * ratio,
        "events": r * n_c,
    }


def _block_sum(comp: np.ndarray, values: np.ndarray, n_comp: int) -> np.ndarray:
    """Sum of ``values`` rows per component ``(n_comp, ...)`` without a Python loop over rows."""
    flat = values.reshape(values.shape[0], -1)
    onehot = np.zeros((values.shape[0], n_comp))
    onehot[np.arange(values.shape[0]), comp] = 1.0
    return (onehot.T @ flat).reshape((n_comp,) + values.shape[1:])


def em_sums(summary: Summary, comps: GaussianTypes, weights: np.ndarray, config: DPConfig) -> dict[str, np.ndarray]:
    """The exact (not yet noisy) clipped statistics of one EM iteration, summed over users in chunks.

    >>> import numpy as np
    >>> from warmstart.families.linear.model import summarise
    >>> types = GaussianTypes(mu=np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]]),  # 2 types and the novel one
    ...                       cov=np.stack([0.1 * np.eye(2), 0.1 * np.eye(2), np.eye(2)]),
    ...                       noise_var=np.full(3, 0.25))
    >>> weights = np.array([0.5, 0.45, 0.05])
    >>> rewards = np.array([[1.0] * 3, [-1.0] * 3, [1.1] * 3, [0.0] * 3])            # 4 users, 3 events each
    >>> stats = summarise(np.tile([1.0, 0.0], (4, 3, 1)), rewards)
    >>> sums = em_sums(stats, types, weights, DPConfig(n_types=2, chunk=3))
    >>> sums["count"].round(3).tolist(), sums["events"].round(3).tolist(), sums["second"].shape   # diag
    ([2.347, 1.328, 0.326], [7.04, 3.984, 0.977], (3, 2))
    """
    K1, d = comps.mu.shape
    s2 = {"full": d * d, "diag": d, "spherical": 1}[config.covariance]
    out = {"count": np.zeros(K1), "mean": np.zeros((K1, d)), "second": np.zeros((K1, s2)),
           "residual": np.zeros(K1), "events": np.zeros(K1)}
    for start in range(0, summary.n_users, config.chunk):
        part = em_contributions(summary[start : start + config.chunk], comps, weights, config)
        for b in STAT_BLOCKS:
            out[b] += _block_sum(part["comp"], part[b], K1)
    return out


# ---------------------------------------------------------------------------------------------- mechanisms
def _noisy(stats: dict[str, np.ndarray], bounds: dict[str, float], shares: dict[str, float], z_round: float,
           rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One Gaussian mechanism over all blocks: block ``b`` (sensitivity ``bounds[b]``) gets noise of standard
    deviation ``z_round * bounds[b] / sqrt(shares[b])``; jointly a multiplier-``z_round`` release."""
    return {b: v + rng.normal(0.0, z_round * bounds[b] / math.sqrt(shares[b]), size=v.shape)
            for b, v in stats.items()}


def _psd_floor(cov: np.ndarray, floor: float) -> np.ndarray:
    """Symmetrise and lift eigenvalues to at least ``floor`` (a projection; post-processing)."""
    cov = 0.5 * (cov + np.swapaxes(cov, -1, -2))
    vals, vecs = np.linalg.eigh(cov)
    return np.einsum("kij,kj,klj->kil", vecs, np.maximum(vals, floor), vecs)


def _project_ball(x: np.ndarray, bound: float) -> np.ndarray:
    return clip_rows(x, bound)


def _weighted_kmeans(points: np.ndarray, w: np.ndarray, k: int, rng: np.random.Generator,
                     restarts: int = 8, iters: int = 50) -> np.ndarray:
    """``k`` centres of weighted ``points`` (k-means++ seeding, Lloyd), best of ``restarts`` by weighted cost.
    Runs on released noisy centres only."""
    best, best_cost = None, np.inf
    p_w = w / w.sum()
    for _ in range(restarts):
        seeds = [points[rng.choice(len(points), p=p_w)]]
        for _ in range(1, k):
            d2 = ((points[:, None] - np.array(seeds)[None]) ** 2).sum(-1).min(1)
            p = w * d2
            pick = rng.choice(len(points), p=p / p.sum()) if p.sum() > 0 else rng.integers(len(points))
            seeds.append(points[pick])
        C = np.array(seeds)
        for _ in range(iters):
            lab = ((points[:, None] - C[None]) ** 2).sum(-1).argmin(1)
            new = C.copy()
            for j in range(k):
                sel = lab == j
                if w[sel].sum() > 0:
                    new[j] = (w[sel, None] * points[sel]).sum(0) / w[sel].sum()
            if np.allclose(new, C):
                break
            C = new
        cost = float((w * ((points[:, None] - C[None]) ** 2).sum(-1).min(1)).sum())
        if cost < best_cost:
            best, best_cost = C, cost
    assert best is not None
    return best


def _private_init(summary: Summary, config: DPConfig, z_init: float, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
    """Noisy Lloyd on clipped ridge estimates from data-independent centres, then a weighted k-means of the
    released centres down to K. Returns the K initial means and what the rounds released (counts)."""
    d = summary.dim
    M = config.n_centres
    theta = clip_rows(ridge(summary.A, summary.b, config.ridge), config.clip_theta)
    share_count, share_mean = config.init_shares()
    sd_count = z_init / math.sqrt(share_count)
    sd_sum = z_init * config.clip_theta / math.sqrt(share_mean)
    # data-independent start: centres spread over the clipping ball
    spread = config.clip_theta / (2.0 * math.sqrt(d))
    centres = rng.normal(0.0, spread, size=(M, d))
    counts = np.zeros(M)
    for _ in range(config.init_iterations):
        lab = np.empty(summary.n_users, dtype=int)
        for start in range(0, summary.n_users, 20_000):
            t = theta[start : start + 20_000]
            lab[start : start + 20_000] = (-2 * t @ centres.T + (centres**2).sum(1)[None]).argmin(1)
        counts = np.bincount(lab, minlength=M) + rng.normal(0.0, sd_count, size=M)
        sums = _block_sum(lab, theta, M) + rng.normal(0.0, sd_sum, size=(M, d))
        # a centre whose noisy count cannot pin down its mean (relative noise above ~1/3) is re-seeded
        solid = counts > 3.0 * sd_sum / config.clip_theta * math.sqrt(d)
        centres = np.where(solid[:, None], _project_ball(sums / np.maximum(counts, 1.0)[:, None],
                                                         config.clip_theta), rng.normal(0.0, spread, size=(M, d)))
    solid = counts > 3.0 * sd_sum / config.clip_theta * math.sqrt(d)
    keep = np.flatnonzero(solid)
    if keep.size < config.n_types:  # not enough signal: fill from the largest noisy counts
        keep = np.argsort(-counts)[: config.n_types]
    mu = _weighted_kmeans(centres[keep], np.maximum(counts[keep], 1.0), config.n_types, rng)
    return mu, {"centres": M, "solid_centres": int(solid.sum()), "noisy_counts": counts.tolist()}


def pseudo_counts(config: DPConfig, dim: int, z_round: float) -> dict[str, float]:
    """Per block, the number of users whose largest possible contributions add up to the norm of that block's
    noise (per component): ``z_round sqrt(size_b / share_b)``. The M-step adds that many pseudo-users at
    the previous parameters, so a component that the noise dominates keeps its parameters instead of
    following the noise (a component of thousands of users hardly moves from it).

    >>> {block: round(n, 2) for block, n in pseudo_counts(DPConfig(), dim=2, z_round=7.0).items()}
    {'mean': 18.07, 'second': 15.65, 'residual': 66.41}
    """
    shares = config.shares()
    size2 = {"full": dim * dim, "diag": dim, "spherical": 1}[config.covariance]
    return {
        "mean": z_round * math.sqrt(dim / shares["mean"]),
        "second": z_round * math.sqrt(size2 / shares["second"]),
        "residual": z_round * config.clip_residual / math.sqrt(shares["residual"]),
    }


def _m_step_private(noisy: dict[str, np.ndarray], comps: GaussianTypes, config: DPConfig,
                    fit_cfg: FitConfig, kappa: dict[str, float]) -> tuple[GaussianTypes, np.ndarray, float]:
    """Turn released statistics into new parameters (post-processing only), through the non-private
    ``_m_step``: noisy sums plus ``kappa`` pseudo-users at the previous parameters, averages projected onto
    the sets the exact ones lie in, covariances onto positive definite matrices."""
    K1, d = comps.mu.shape
    K = K1 - 1
    W = np.maximum(noisy["count"], 0.0)
    Wt = W[:K, None]
    mu_old, cov_old = comps.mu[:K], comps.cov[:K]
    # the exact average deviation lies in the clip ball; the previous mean is the pseudo-users' (zero) one
    delta = _project_ball(noisy["mean"][:K] / (Wt + kappa["mean"]), config.clip_dev)
    # under the previous parameters the expected second moment about the previous mean is the previous cov
    q_old = _second_stat(cov_old, config.covariance)
    q = _project_ball((noisy["second"][:K] + kappa["second"] * q_old) / (Wt + kappa["second"]),
                      second_bound(config, d))
    if config.covariance == "full":
        cov = q.reshape(K, d, d) - np.einsum("ki,kj->kij", delta, delta)
    elif config.covariance == "diag":
        cov = np.einsum("ki,ij->kij", q - delta**2, np.eye(d))
    else:
        cov = (q[:, 0] - (delta**2).sum(1) / d)[:, None, None] * np.eye(d)
    cov = _psd_floor(cov, max(config.reg, 1e-6))
    mu = mu_old + delta
    # noise variances: released residual sums are per event relative to the previous variance; the pseudo-users
    # (clip_events events each) sit at the pooled variance of all components, which the noise hardly touches
    res = np.maximum(noisy["residual"], 0.0) * comps.noise_var
    events = np.maximum(noisy["events"], 0.0)
    pooled = res.sum() / max(events.sum(), 1e-12) if events.sum() > 0 else float(np.mean(comps.noise_var))
    pseudo = kappa["residual"] * config.clip_events
    noise = (res + pseudo * pooled) / (events + pseudo)
    noise = np.clip(noise, comps.noise_var / config.clip_residual, comps.noise_var * config.clip_residual)
    Sn = np.ones(K1)
    Wk = np.maximum(W, 1e-6)
    stats = (Wk, np.vstack([Wk[:K, None] * mu, np.zeros((1, d))]),
             np.concatenate([Wk[:K, None, None] * (cov + np.einsum("ki,kj->kij", mu, mu)), np.zeros((1, d, d))]),
             noise * Sn, Sn)
    n_hat = float(W.sum())
    new, w = _m_step(stats, comps, fit_cfg, n_users=max(float(Wk.sum()), 1.0))  # type: ignore[arg-type]
    return new, w, n_hat


# ---------------------------------------------------------------------------------------------- public
def fit_population_dp(summary: Summary, config: DPConfig | None = None) -> Population:
    """Fit ``config.n_types`` types plus the novel component with ``(epsilon, delta)``-differential privacy at
    user level (adding or removing one user's whole summary). See the module docstring for the mechanism and
    the sensitivity argument. ``diagnostics["dp"]`` records the guarantee and how it was met.

    >>> import warmstart as ws
    >>> truth = ws.sim.LinearTypesPopulation(ws.sim.LinearTypesConfig(dim=3, n_types=3, minority_share=0.3,
    ...                                                                 outlier_share=0.0))
    >>> stats = ws.summarise_log(truth.logged(2000, 20, seed=0))
    >>> private = fit_population_dp(stats, DPConfig(epsilon=2.0, n_types=3, accountant="rdp", seed=0))
    >>> private.components.mu[:3].round(1).tolist()          # close to the true means, with noise
    [[-1.6, 0.2, 0.8], [0.3, 0.8, 2.9], [-1.5, 0.8, -1.6]]
    >>> truth.type_means.round(1).tolist()
    [[-1.6, 0.1, 0.7], [0.2, 0.9, 2.9], [-1.5, 0.9, -1.7]]
    >>> private.diagnostics.selection, private.diagnostics.dp["epsilon"], private.diagnostics.loglik
    ('fixed (private)', 2.0, None)
    """
    cfg = config or DPConfig()
    summary.validate()
    if summary.n_users < 2:
        raise ValueError(f"summary: expected at least 2 users to fit a population, got {summary.n_users}")
    d = summary.dim
    K = cfg.n_types
    rng = np.random.default_rng(cfg.seed)
    z = calibrate_noise(cfg)
    eps = epsilon_spent(z, cfg)
    z_init, z_em = round_multipliers(z, cfg)
    mu0, init_info = _private_init(summary, cfg, z_init, rng)
    fit_cfg = FitConfig(n_types=K, covariance=cfg.covariance, reg=cfg.reg, novel_floor=cfg.novel_floor,
                        novel_scale=cfg.novel_scale, split_merge=False)
    types = GaussianTypes(mu0, np.repeat(cfg.init_var * np.eye(d)[None], K, 0), np.full(K, cfg.init_noise_var))
    wk = np.full(K, (1.0 - cfg.novel_floor) / K)
    comps = _with_novel(types, wk, cfg.init_noise_var, fit_cfg)
    weights = np.append(wk, cfg.novel_floor)
    shares = cfg.shares()
    bounds = {"count": 1.0, "mean": cfg.clip_dev, "second": second_bound(cfg, d),
              "residual": cfg.clip_events * cfg.clip_residual, "events": cfg.clip_events}
    kappa = pseudo_counts(cfg, d, z_em)
    n_hat = float("nan")
    for _ in range(cfg.iterations):
        noisy = _noisy(em_sums(summary, comps, weights, cfg), bounds, shares, z_em, rng)
        comps, weights, n_hat = _m_step_private(noisy, comps, cfg, fit_cfg, kappa)
    diagnostics = FitDiagnostics.from_dict({
        "dp": {
            "epsilon": cfg.epsilon,
            "delta": cfg.delta,
            "epsilon_accounted": eps,
            "noise_multiplier": z,
            "noise_multiplier_init_round": z_init,
            "noise_multiplier_em_iteration": z_em,
            "iterations": cfg.iterations,
            "init_iterations": cfg.init_iterations,
            "clip": {"theta": cfg.clip_theta, "dev": cfg.clip_dev, "second": cfg.clip_second,
                     "events": cfg.clip_events, "residual": cfg.clip_residual},
            "stat_shares": shares,
            "init_share": cfg.init_share,
            "accountant": {"pld": "dp_accounting PLDAccountant", "rdp": "dp_accounting RdpAccountant"}[
                cfg.accountant],
            "neighboring_relation": "add or remove one user",
            "unit": UNIT,
            "mechanism": "DP-EM (Park et al. 2017): clipped per-user sufficient statistics + Gaussian noise; "
                         "noisy Lloyd initialisation",
        },
        "dim": d,
        "selected_k": K,
        "selection": "fixed (private)",
        "n_users_noisy": n_hat,
        "init": {"centres": init_info["centres"], "solid_centres": init_info["solid_centres"]},
        "config": cfg.to_dict(),
    })
    return Population(comps, weights, diagnostics)
