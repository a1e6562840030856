"""k-means with greedy k-means++ seeding, used to start the EM fits of both model families."""

from __future__ import annotations

import numpy as np


def kmeans_pp(points: np.ndarray, k: int, rng: np.random.Generator, iters: int = 20) -> np.ndarray:
    """Labels ``(n,)`` of ``points (n, m)`` in ``k`` clusters. Greedy k-means++ seeding (Arthur and
    Vassilvitskii, 2007; several sampled candidates per centre, keeping the one that lowers the potential most,
    so a small dense group gets a centre more often than an isolated point), then up to ``iters`` Lloyd
    iterations."""
    n = points.shape[0]
    trials = 2 + int(np.log(max(k, 1)))
    centres = [points[rng.integers(n)]]
    d2 = ((points - centres[0]) ** 2).sum(1)
    for _ in range(1, k):
        p = d2 / d2.sum() if d2.sum() > 0 else np.full(n, 1.0 / n)
        cand = points[rng.choice(n, size=trials, p=p)]
        cand_d2 = np.minimum(d2[None], ((points[None] - cand[:, None]) ** 2).sum(-1))
        best = int(np.argmin(cand_d2.sum(1)))
        centres.append(cand[best])
        d2 = cand_d2[best]
    C = np.array(centres)
    labels = np.full(n, -1)
    for _ in range(iters):
        new = ((points[:, None, :] - C[None]) ** 2).sum(-1).argmin(1)
        if np.array_equal(new, labels):
            break
        labels = new
        for j in range(k):
            if np.any(labels == j):
                C[j] = points[labels == j].mean(0)
    return labels
