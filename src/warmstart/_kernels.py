"""Compiled kernels for the one-user hot path (one decision and one update), used when numba is installed
(the ``fast`` extra) and ``WARMSTART_JIT`` is not ``0``.

Each kernel computes what a numpy reference elsewhere in the package computes (the references stay the
fallback and the tests check the two against each other): numpy's per-call overhead, not arithmetic,
dominates at d = 10 and 20 actions, and a compiled loop removes it. Random numbers are always drawn by the
caller's numpy ``Generator``, so both paths consume the same stream and a seed means the same on both.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

try:
    import numba
except ImportError:  # pragma: no cover - exercised on installs without the ``fast`` extra
    numba = None  # type: ignore[assignment]

JIT: bool = numba is not None and os.environ.get("WARMSTART_JIT", "1") != "0"
LOG_2PI = float(np.log(2.0 * np.pi))


def backend() -> str:
    """What runs the hot path: ``"numba <version>"`` or ``"numpy"``."""
    return f"numba {numba.__version__}" if JIT else "numpy"


@contextmanager
def disabled() -> Iterator[None]:
    """Run the numpy references instead of the kernels inside the block (benchmarks compare the two)."""
    global JIT
    saved, JIT = JIT, False
    try:
        yield
    finally:
        JIT = saved


def _jit(fn: Callable[..., Any]) -> Callable[..., Any]:
    return numba.njit(cache=True, nogil=True)(fn) if JIT else fn


@_jit
def _cholesky(a: np.ndarray, out: np.ndarray) -> bool:
    """Lower Cholesky factor of ``a`` into ``out``; False when ``a`` is not numerically positive definite."""
    d = a.shape[0]
    for j in range(d):
        s = a[j, j]
        for k in range(j):
            s -= out[j, k] * out[j, k]
        if not s > 0.0:
            return False
        ljj = np.sqrt(s)
        out[j, j] = ljj
        for i in range(j + 1, d):
            t = a[i, j]
            for k in range(j):
                t -= out[i, k] * out[j, k]
            out[i, j] = t / ljj
        for i in range(j):
            out[i, j] = 0.0
    return True


@_jit
def mixture_draws(mean: np.ndarray, cov: np.ndarray, counts: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``theta`` draws grouped by component: ``counts[k]`` rows ``mean[k] + L_k z`` for each ``k`` in order,
    ``L_k`` the Cholesky factor of ``cov[k]`` (symmetrised and jittered if a long run of rank-one downdates left
    it a hair off positive definite). Reference: ``warmstart.policies.mixture.posterior_samples``."""
    n, d = z.shape
    out = np.empty((n, d))
    L = np.empty((d, d))
    row = 0
    for k in range(counts.shape[0]):
        m = counts[k]
        if m == 0:
            continue
        if not _cholesky(cov[k], L):
            sym = 0.5 * (cov[k] + cov[k].T)
            sym += 1e-10 * max(np.trace(sym), 1e-12) * np.eye(d)
            if not _cholesky(sym, L):
                raise np.linalg.LinAlgError("covariance is not positive definite")
        for r in range(row, row + m):
            for i in range(d):
                s = mean[k, i]
                for j in range(i + 1):
                    s += L[i, j] * z[r, j]
                out[r, i] = s
        row += m
    return out


@_jit
def ids_pair(R: np.ndarray, grid: np.ndarray, eps: float, tie: float) -> tuple[int, int, float]:
    """Variance-IDS over action pairs from reward samples ``R (M, A)``; returns ``(i, j, q)``.
    Reference: ``warmstart.policies.mixture.ids_distribution`` (same candidates, same tie order)."""
    M, A = R.shape
    best = np.empty(M, dtype=np.int64)
    best_sum = 0.0
    mean = np.zeros(A)
    counts = np.zeros(A)
    cond = np.zeros((A, A))  # cond[j, a] = sum of R[m, a] over draws whose best action is j
    for m in range(M):
        b = 0
        for a in range(1, A):
            if R[m, a] > R[m, b]:
                b = a
        best[m] = b
        best_sum += R[m, b]
        counts[b] += 1.0
        for a in range(A):
            mean[a] += R[m, a]
            cond[b, a] += R[m, a]
    mean /= M
    delta = np.empty(A)
    gain = np.zeros(A)
    for a in range(A):
        delta[a] = max(best_sum / M - mean[a], 0.0)
    for j in range(A):
        if counts[j] > 0:
            for a in range(A):
                diff = cond[j, a] / counts[j] - mean[a]
                gain[a] += counts[j] / M * diff * diff
    if gain.max() <= eps:
        a = int(np.argmax(mean))
        return a, a, 1.0
    ratio1 = delta * delta / np.maximum(gain, eps)
    cand = np.union1d(np.argsort(delta)[:4], np.argsort(ratio1)[:4])
    c = cand.shape[0]
    # two passes over singles, then pairs i < j with q from ``grid``: the minimum, then the first within
    # a relative ``tie`` of it
    lowest = np.inf
    for pass_ in range(2):
        for i in range(c):
            r = ratio1[cand[i]]
            if pass_ == 0:
                lowest = min(lowest, r)
            elif r <= lowest * (1.0 + tie):
                return int(cand[i]), int(cand[i]), 1.0
        for i in range(c):
            for j in range(i + 1, c):
                for k in range(grid.shape[0]):
                    q = grid[k]
                    dm = q * delta[cand[i]] + (1 - q) * delta[cand[j]]
                    gm = q * gain[cand[i]] + (1 - q) * gain[cand[j]]
                    r = dm * dm / max(gm, eps)
                    if pass_ == 0:
                        lowest = min(lowest, r)
                    elif r <= lowest * (1.0 + tie):
                        return int(cand[i]), int(cand[j]), float(q)
    raise AssertionError("unreachable: the minimum is always found on the second pass")


@_jit
def observe_one(
    mean: np.ndarray, cov: np.ndarray, logev: np.ndarray, noise_var: np.ndarray,
    A: np.ndarray, b: np.ndarray, x: np.ndarray, r: float,
) -> None:
    """Rank-one update of every component's posterior and log evidence, and of the summary ``A``, ``b``, in
    place. Reference: ``warmstart.families.linear.belief._observe``."""
    K1, d = mean.shape
    Sx = np.empty(d)
    for k in range(K1):
        v = noise_var[k]
        pred = 0.0
        for i in range(d):
            s = 0.0
            for j in range(d):
                s += cov[k, i, j] * x[j]
            Sx[i] = s
            v += s * x[i]
            pred += mean[k, i] * x[i]
        resid = r - pred
        logev[k] -= 0.5 * (LOG_2PI + np.log(v) + resid * resid / v)
        for i in range(d):
            g = Sx[i] / v
            mean[k, i] += g * resid
            for j in range(d):
                cov[k, i, j] -= g * Sx[j]
    for i in range(d):
        b[i] += x[i] * r
        for j in range(d):
            A[i, j] += x[i] * x[j]


@_jit
def batch_thompson(
    mean: np.ndarray, cov: np.ndarray, probs: np.ndarray, users: np.ndarray, u: np.ndarray, z: np.ndarray,
    X: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Mixture Thompson sampling for many users: ``users`` index ``mean (N, K1, d)`` and ``cov``; ``probs
    (n, K1)`` are their type posteriors, ``u (n, M)`` uniforms that pick each draw's component, ``z (n, M, d)``
    standard normals, ``X (n, A, d)`` candidates. Draw 0 is played; the propensity is the share of draws that
    choose it. Reference: ``warmstart.policies.batch.batch_thompson_numpy``."""
    n, M, d = z.shape
    K1 = probs.shape[1]
    A = X.shape[1]
    actions = np.empty(n, dtype=np.int64)
    propensity = np.empty(n)
    L = np.empty((K1, d, d))
    factored = np.zeros(K1, dtype=np.bool_)
    cdf = np.empty(K1)
    theta = np.empty(d)
    for i in range(n):
        user = users[i]
        acc = 0.0
        for k in range(K1):
            acc += probs[i, k]
            cdf[k] = acc
        factored[:] = False
        first = -1
        same = 0
        for m in range(M):
            v = u[i, m] * cdf[K1 - 1]
            k = 0
            for kk in range(K1):
                if v >= cdf[kk]:
                    k += 1
            k = min(k, K1 - 1)
            if not factored[k]:
                if not _cholesky(cov[user, k], L[k]):
                    raise np.linalg.LinAlgError("covariance is not positive definite")
                factored[k] = True
            for r in range(d):
                s = mean[user, k, r]
                for c in range(r + 1):
                    s += L[k, r, c] * z[i, m, c]
                theta[r] = s
            best, best_score = 0, -np.inf
            for a in range(A):
                s = 0.0
                for r in range(d):
                    s += theta[r] * X[i, a, r]
                if s > best_score:
                    best, best_score = a, s
            if m == 0:
                first = best
            if best == first:
                same += 1
        actions[i] = first
        propensity[i] = same / M
    return actions, propensity
