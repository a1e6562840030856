"""Fair types: EM whose responsibilities are balanced across the groups of a declared per-user attribute.

**What "fair" means here.** A user's *type posterior* (their responsibilities, what the population names, what
a belief reports and what ``warmstart audit leakage`` reads) should carry no information about the attribute:
every type's share is the same in every group, ``mean_{i in a} q_ik = mean_i q_ik`` for every type ``k`` and
every value ``a`` (demographic parity of the soft assignment; its mutual information ``I(type; attribute)``
is zero). The attribute is used by the fit only; a new user is served and their type inferred from their
rewards alone, as with any population.

**How.** Posterior regularization (Ganchev, Graca, Gillenwater and Taskar, 2010, "Posterior regularization for
structured latent variable models", JMLR 11): each E-step projects the responsibilities, in KL divergence, onto
the set that meets the constraint, and the M-step fits the types to the projected responsibilities. The
projection keeps the whole population's type shares (the unconstrained responsibilities' means) and gives each
group those shares, ``q_ik ∝ p(k | r_i) exp(beta_{a_i k})``, by iterative proportional fitting in log space
(``balance``). This is the hard-constraint limit of a mutual-information penalty on the responsibilities (the
penalty's E-step tilts each group's prior the same way; cf. Ziko, Yuan, Granger and Ben Ayed, 2021,
"Variational fair clustering", AAAI, and the balance of Chierichetti, Kumar, Lattanzi and Vassilvitskii, 2017,
"Fair clustering through fairlets", NeurIPS). Over the iterations, types that one group dominates are pulled
to take in users of the other groups, so the fixed point's types are mixed across the groups: the held-out
users' type posterior, computed without their attribute, is then balanced too, which is what the leakage
audit checks.

**The price.** When the users' true preferences differ between the groups, a fair type is broader than the
unconstrained ones (it spans preferences of both groups), so a new user's preferences are learned from a
vaguer prior. The price is measured by ``warmstart bench responsible --part fair`` (docs/fair-types.md). What is
*not* removed: within a type, each user's posterior over their own preferences still follows their rewards,
and so still says whatever the rewards say about the attribute; no personalisation from rewards can avoid that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from warmstart._cluster import kmeans_pp
from warmstart.families.linear.em import _bic, _Fit, _m_step
from warmstart.families.linear.estep import resp_moments
from warmstart.families.linear.model import GaussianTypes, Summary, logsumexp_rows, type_posterior

if TYPE_CHECKING:
    from warmstart.families.linear.fit import FitConfig


DEFAULT_TOLERANCE = 0.01


@dataclass(frozen=True)
class FairAttribute:
    """A declared per-user attribute the types must not carry: its ``name``, one value per user (strings or
    integers; no missing values) and the ``tolerance`` the fit's K is held to: the share of the attribute's
    entropy the served responsibilities of the training users may explain (``I(type; attribute) / H(attribute)``,
    module docstring). Validated at construction; ``codes`` (each user's group, 0 .. G-1) and ``levels`` (the
    values as strings, sorted) are derived.

    >>> a = FairAttribute("gender", ["b", "a", "b", "b"])
    >>> a.codes.tolist(), a.levels, a.sizes().tolist()
    ([1, 0, 1, 1], ['a', 'b'], [1, 3])
    >>> FairAttribute("gender", ["a", "a"])
    Traceback (most recent call last):
    ...
    ValueError: fair_attribute 'gender': expected at least two values to balance the types over, got only 'a'
    """

    name: str
    values: Any
    tolerance: float = DEFAULT_TOLERANCE
    codes: np.ndarray = field(init=False, repr=False)
    levels: list[str] = field(init=False)

    def __post_init__(self) -> None:
        arr = np.asarray(self.values)
        if arr.ndim != 1:
            raise ValueError(f"fair_attribute {self.name!r}: expected one value per user, got shape {arr.shape}")
        if arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"fair_attribute {self.name!r}: expected a value for every user, got "
                                 f"{int(np.sum(~np.isfinite(arr)))} missing (NaN or infinite)")
            if not np.all(arr == np.round(arr)):
                raise ValueError(f"fair_attribute {self.name!r}: expected group labels (strings or integers), got "
                                 f"non-integer numbers such as {arr[arr != np.round(arr)][0]!r}")
            arr = arr.astype(np.int64)
        elif arr.dtype.kind not in "biuU":
            raise ValueError(f"fair_attribute {self.name!r}: expected strings or integers, got dtype {arr.dtype}")
        if arr.dtype.kind == "U" and np.any(np.char.strip(arr) == ""):
            raise ValueError(f"fair_attribute {self.name!r}: expected a value for every user, got "
                             f"{int(np.sum(np.char.strip(arr) == ''))} empty")
        if not 0 < self.tolerance < 1:
            raise ValueError(f"fair tolerance: expected a share of the attribute's entropy in (0, 1), got "
                             f"{self.tolerance}")
        levels, codes = np.unique(arr.astype(str), return_inverse=True)
        if levels.shape[0] < 2:
            raise ValueError(f"fair_attribute {self.name!r}: expected at least two values to balance the types "
                             f"over, got only {str(levels[0])!r}")
        object.__setattr__(self, "codes", codes.astype(np.int64))
        object.__setattr__(self, "levels", [str(v) for v in levels])

    @property
    def n_groups(self) -> int:
        return len(self.levels)

    def sizes(self) -> np.ndarray:
        return np.bincount(self.codes, minlength=self.n_groups)

    def entropy(self) -> float:
        """``H(attribute)`` in nats over the users.

        >>> round(FairAttribute("g", [0, 1, 1, 0]).entropy(), 4)            # two equal groups: log 2
        0.6931
        """
        p = self.sizes() / self.codes.shape[0]
        return float(-np.sum(p[p > 0] * np.log(p[p > 0])))


def _group_log_means(logq: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """``(G, K)``: the log of each group's mean responsibility per type, from log responsibilities."""
    out = np.empty((n_groups, logq.shape[1]))
    for g in range(n_groups):
        rows = logq[codes == g]
        out[g] = logsumexp_rows(rows.T) - np.log(rows.shape[0])
    return out


def balance(log_joint: np.ndarray, codes: np.ndarray, n_groups: int, *, max_iter: int = 500,
            tol: float = 1e-8) -> tuple[np.ndarray, dict[str, float]]:
    """The KL projection of the responsibilities ``softmax(log_joint)`` onto those whose mean over every group
    equals the mean over all users: ``q_ik ∝ exp(log_joint_ik + beta_{codes_i, k})`` with the tilts ``beta``
    found by iterative proportional fitting (in log space, so responsibilities that underflow still move).
    Returns ``q (N, K)`` and how far the constraint was met (``max_log_gap``: the largest ``|log|`` ratio of a
    group's share of a type to the target share; ``n_iter``).

    >>> import numpy as np
    >>> log_joint = np.log(np.array([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.1, 0.9]]))
    >>> q, info = balance(log_joint, np.array([0, 0, 1, 1]), 2)       # group 0 leans to type 0, group 1 to 1
    >>> q.mean(axis=0).round(3).tolist(), q[:2].mean(axis=0).round(3).tolist(), q[2:].mean(0).round(3).tolist()
    ([0.5, 0.5], [0.5, 0.5], [0.5, 0.5])
    >>> q.round(3).tolist()                                           # users keep their order within a group
    [[0.6, 0.4], [0.4, 0.6], [0.6, 0.4], [0.4, 0.6]]
    """
    norm = logsumexp_rows(log_joint)
    logp = log_joint - norm[:, None]
    target = logsumexp_rows(logp.T) - np.log(logp.shape[0])  # log of the overall mean responsibilities
    beta = np.zeros((n_groups, logp.shape[1]))
    gap, it = np.inf, 0
    logq = logp
    for it in range(1, max_iter + 1):
        tilted = logp + beta[codes]
        logq = tilted - logsumexp_rows(tilted)[:, None]
        delta = target[None] - _group_log_means(logq, codes, n_groups)
        gap = float(np.max(np.abs(delta)))
        if gap < tol:
            break
        beta += delta
    return np.exp(logq), {"max_log_gap": gap, "n_iter": float(it)}


def mutual_information(resp: np.ndarray, codes: np.ndarray, n_groups: int) -> float:
    """``I(type; attribute)`` in nats under the soft assignment ``resp (N, K)``: ``sum_a p_a sum_k rho_ak
    log(rho_ak / rho_k)`` with ``rho_ak`` group ``a``'s mean responsibility for type ``k``.

    >>> import numpy as np
    >>> codes = np.array([0, 0, 1, 1])
    >>> round(mutual_information(np.eye(2)[[0, 0, 1, 1]], codes, 2), 4)    # types = groups: log 2
    0.6931
    >>> mutual_information(np.full((4, 2), 0.5), codes, 2)                   # the same shares in both
    0.0
    """
    p_a = np.bincount(codes, minlength=n_groups) / codes.shape[0]
    rho_k = resp.mean(axis=0)
    mi = 0.0
    for g in range(n_groups):
        rho = resp[codes == g].mean(axis=0)
        pos = rho > 0
        mi += p_a[g] * float(np.sum(rho[pos] * np.log(rho[pos] / rho_k[pos])))
    return float(max(mi, 0.0))


#: the fair E-step keeps every user's posteriors between its two halves up to this many bytes, else recomputes
CACHE_BYTES = 256 * 2**20


def _example() -> tuple[Summary, FairAttribute, Any]:
    """The examples' data: 60 users of two types (preference means +-1.5 on the first of 3 features, spread
    0.3, noise 0.5) with 10 events each on random items, an attribute equal to the type, and the plain 2-type
    fit."""
    from warmstart.families.linear.fit import FitConfig, fit_population
    from warmstart.families.linear.model import summarise_rows

    rng = np.random.default_rng(0)
    kind = np.repeat([0, 1], 30)
    theta = np.array([[1.5, 0.0, 0.0], [-1.5, 0.0, 0.0]])[kind] + 0.3 * rng.standard_normal((60, 3))
    user = np.repeat(np.arange(60), 10)
    X = rng.standard_normal((600, 3))
    reward = np.einsum("nd,nd->n", X, theta[user]) + 0.5 * rng.standard_normal(600)
    summary = summarise_rows(user, X, reward, 60)
    plain = fit_population(summary, FitConfig(n_types=2, split_merge=False, n_init=1))
    return summary, FairAttribute("group", kind), plain


def fair_pass(summary: Summary, comps: GaussianTypes, weights: np.ndarray, attr: FairAttribute,
              chunk: int) -> tuple[float, tuple[np.ndarray, ...], dict[str, float]]:
    """One E-step of the fair fit over users in memory: the log likelihood (of the rewards, at these
    parameters), the M-step sums from the balanced responsibilities, and the constraint's figures
    (``served_mi``: ``I(type; attribute)`` of the plain responsibilities, those a user is served with;
    ``balanced_mi`` of the balanced ones; ``kl``: the projection's ``sum_i KL(q_i || p_i)``; ``max_log_gap``).

    >>> from warmstart.families.linear.fit import FitConfig
    >>> summary, attr, plain = _example()   # 60 users of 2 types; the attribute is the type itself
    >>> ll, stats, info = fair_pass(summary, plain.components, plain.weights, attr, chunk=25)
    >>> round(info["served_mi"], 3), round(info["balanced_mi"], 6), stats[0].round(1).tolist()  # before: ~ log 2
    (0.69, 0.0, [29.9, 29.9, 0.1])
    """
    terms, logw = comps.precision(), np.log(weights)
    K1, d = comps.mu.shape
    keep = summary.n_users * K1 * d * (d + 1) * 8 <= CACHE_BYTES
    starts = range(0, summary.n_users, chunk)
    posts, joints = [], []
    for s in starts:
        post = type_posterior(summary[s : s + chunk], comps, terms, need_mean=False)
        joints.append(post.log_evidence + logw)
        posts.append(post if keep else None)
    log_joint = np.concatenate(joints)
    norm = logsumexp_rows(log_joint)
    q, info = balance(log_joint, attr.codes, attr.n_groups)
    plain = np.exp(log_joint - norm[:, None])
    kl = float(np.sum(q * (np.log(np.maximum(q, 1e-300)) - (log_joint - norm[:, None]))))
    info = {**info, "served_mi": mutual_information(plain, attr.codes, attr.n_groups),
            "balanced_mi": mutual_information(q, attr.codes, attr.n_groups), "kl": kl}
    stats = (np.zeros(K1), np.zeros((K1, d)), np.zeros((K1, d, d)), np.zeros(K1), np.zeros(K1))
    for s, cached in zip(starts, posts, strict=True):
        part = summary[s : s + chunk]
        post = cached if cached is not None else type_posterior(part, comps, terms, need_mean=False)
        for total, term in zip(stats, resp_moments(part, post, q[s : s + chunk]), strict=True):
            total += term
    return float(norm.sum()), stats, info


def fair_em(summary: Summary, comps: GaussianTypes, weights: np.ndarray, attr: FairAttribute, cfg: FitConfig,
            max_iter: int | None = None) -> tuple[_Fit, dict[str, float]]:
    """EM with the balanced E-step (``fair_pass``) from ``comps`` and ``weights`` until the log likelihood
    changes by less than ``cfg.tol`` (relative) or ``max_iter`` (default ``cfg.max_iter``) passes. Returns the
    fit (its log likelihood the rewards' at the final parameters) and the last pass's constraint figures.

    >>> from warmstart.families.linear.fit import FitConfig
    >>> summary, attr, plain = _example()   # 60 users of 2 types; the attribute is the type itself
    >>> fit, info = fair_em(summary, plain.components, plain.weights, attr, FitConfig(), max_iter=20)
    >>> round(info["served_mi"], 3), fit.weights.round(2).tolist()    # served: almost nothing left
    (0.0, [0.56, 0.43, 0.01])
    """
    prev, ll, it, converged = -np.inf, -np.inf, 0, False
    info: dict[str, float] = {}
    for it in range(1, (cfg.max_iter if max_iter is None else max_iter) + 1):
        ll, stats, info = fair_pass(summary, comps, weights, attr, cfg.chunk)
        if it > 1 and abs(ll - prev) <= cfg.tol * max(abs(ll), 1.0):
            converged = True
            break
        prev = ll
        comps, weights = _m_step(stats, comps, cfg, summary.n_users)
    return _Fit(comps, weights, ll, it, converged), info


def _restarts(summary: Summary, theta_hat: np.ndarray, k: int, attr: FairAttribute, cfg: FitConfig,
              rng: np.random.Generator, max_iter: int) -> tuple[_Fit, dict[str, float]]:
    """The best (by log likelihood) of ``cfg.n_init`` fair EM runs from k-means++ starts."""
    from warmstart.families.linear.fit import _init_from_labels

    best: tuple[_Fit, dict[str, float]] | None = None
    for _ in range(cfg.n_init if k > 1 else 1):
        labels = kmeans_pp(theta_hat, k, rng) if k > 1 else np.zeros(summary.n_users, dtype=int)
        comps, w = _init_from_labels(summary, theta_hat, labels, k, cfg)
        run = fair_em(summary, comps, w, attr, cfg, max_iter=max_iter)
        if best is None or run[0].loglik > best[0].loglik:
            best = run
    assert best is not None
    return best


def fit_fair(summary: Summary, attr: FairAttribute, cfg: FitConfig, report: Any) -> tuple[_Fit, dict[str, Any]]:
    """The fair fit: for each K of the path (``cfg.n_types``, or ``cfg.k_range`` in turn), fair EM from
    ``cfg.n_init`` k-means++ starts; a K is *admissible* when its served responsibilities explain at most
    ``attr.tolerance`` of the attribute's entropy on the training users, and K is the admissible one of lowest
    BIC (the path stops after ``cfg.patience`` K in a row that do not improve on it; when none is, the K whose
    served responsibilities carry the least, and the record says it is not admissible).
    There are no split and merge moves (they run plain EM). Returns the fit, run to convergence, and the
    ``fair`` record of the diagnostics (with the path).

    >>> from warmstart.families.linear.fit import FitConfig
    >>> summary, attr, plain = _example()   # 60 users of 2 types; the attribute is the type itself
    >>> fit, record = fit_fair(summary, attr, FitConfig(k_range=(1, 3), n_init=1), lambda m, f: None)
    >>> [(e["K"], e["admissible"]) for e in record["k_path"]], record["admissible"]  # each type mixes both
    ([(1, True), (2, True), (3, True)], True)
    """
    from warmstart.families.linear.fit import ridge_estimates

    rng = np.random.default_rng(cfg.seed)
    theta_hat = ridge_estimates(summary)
    h = attr.entropy()
    ks = [cfg.n_types] if cfg.n_types is not None else list(range(cfg.k_range[0], cfg.k_range[1] + 1))
    ks = [k for k in ks if k < summary.n_users]
    path: list[dict[str, Any]] = []
    best: tuple[float, _Fit, dict[str, float]] | None = None
    fairest: tuple[float, _Fit, dict[str, float]] | None = None
    since_best = 0
    for idx, k in enumerate(ks):
        report(f"fair EM with K = {k}", idx / max(len(ks), 1))
        fit, info = _restarts(summary, theta_hat, k, attr, cfg, rng, cfg.select_max_iter)
        share = float(info["served_mi"] / h)
        entry = {"K": k, "loglik": fit.loglik, "bic": _bic(fit, summary.n_users, cfg), "n_iter": fit.n_iter,
                 "converged": fit.converged, "served_entropy_share": share, "admissible": bool(share <= attr.tolerance)}
        path.append(entry)
        if fairest is None or share < fairest[0]:
            fairest = (share, fit, info)
        if entry["admissible"] and (best is None or entry["bic"] < best[0]):
            best, since_best = (entry["bic"], fit, info), 0
        else:
            since_best += 1
            if since_best >= cfg.patience and best is not None:
                break
    assert fairest is not None, "the K path is empty"
    _, fit, info = best or fairest  # no admissible K: the fairest one tried (the record says it is not)
    if not fit.converged:
        fit, info = fair_em(summary, fit.comps, fit.weights, attr, cfg)
    record = {"attribute": attr.name, "method": METHOD, "levels": attr.levels, "group_sizes": attr.sizes().tolist(),
              "tolerance": attr.tolerance, "attribute_entropy": h, "served_mi": float(info["served_mi"]),
              "served_entropy_share": float(info["served_mi"] / h), "balanced_mi": float(info["balanced_mi"]),
              "kl": info["kl"], "max_log_gap": info["max_log_gap"],
              "admissible": bool(info["served_mi"] / h <= attr.tolerance), "k_path": path}
    return fit, record


METHOD = ("posterior regularization: each E-step's responsibilities projected (KL) onto equal type shares in "
          "every attribute group; K the lowest BIC whose served responsibilities explain at most `tolerance` of "
          "the attribute's entropy")
