"""CLUB: online clustering of bandits (Gentile, Li and Zappella, ICML 2014), adapted to cold start.

CLUB keeps a graph over users and deletes the edge ``(i, j)`` once the ridge estimates of the two users are
provably apart,

    ||w_i - w_j|| > alpha_2 * (CB(n_i) + CB(n_j)),     CB(n) = sqrt((1 + ln(1 + n)) / (1 + n)),

so that the connected components are the clusters; each user then plays LinUCB on the pooled statistics of
its cluster. The paper runs this online over a fixed set of users. Here the training users are clustered once,
offline, from the logged feedback, and each new user joins a graph in which it is connected to every training
cluster: it starts on the pooled statistics of everyone, and each observed reward may delete its edges to the
clusters its own estimate has moved away from, until it plays on its own cluster (or, when it has been
separated from all of them, on its own data alone).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse import triu as sparse_triu
from scipy.sparse.csgraph import connected_components

from warmstart.families.linear.model import ridge, summarise_log
from warmstart.policies.base import Decision, Policy, PolicyContext, UserTruth, register_policy


def confidence_bound(n: np.ndarray | float) -> np.ndarray:
    """CLUB's confidence radius ``CB(n) = sqrt((1 + ln(1 + n)) / (1 + n))`` for ``n`` observations.

    >>> confidence_bound(np.array([0, 1, 10, 100])).round(3).tolist()   # shrinks like sqrt(ln(n) / n)
    [1.0, 0.92, 0.556, 0.236]
    """
    n = np.asarray(n, dtype=float)
    return np.sqrt((1.0 + np.log1p(n)) / (1.0 + n))


def knn_graph(w: np.ndarray, k: int, chunk: int = 1024) -> csr_matrix:
    """The mutual ``k``-nearest-neighbour graph of the rows of ``w``: ``i`` and ``j`` are joined when each is
    among the other's ``k`` nearest rows (Euclidean). Distances are computed in row chunks; memory is
    ``O(chunk * N)``.

    >>> w = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [3.0, 3.0], [3.1, 3.0]])   # a group of 3, one of 2
    >>> knn_graph(w, 1).toarray().astype(int).tolist()     # row 2's nearest is row 0, not the other way
    [[0, 1, 0, 0, 0], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 1, 0]]
    >>> knn_graph(w, 2).toarray().astype(int).tolist()
    [[0, 1, 1, 0, 0], [1, 0, 1, 0, 0], [1, 1, 0, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 1, 0]]
    """
    n = w.shape[0]
    k = min(k, n - 1)
    if k <= 0:
        return csr_matrix((n, n))
    sq = np.einsum("nd,nd->n", w, w)
    nbrs = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, chunk):
        rows = np.arange(start, min(start + chunk, n))
        d2 = sq[rows, None] + sq[None, :] - 2.0 * (w[rows] @ w.T)
        d2[np.arange(rows.size), rows] = np.inf
        nbrs[rows] = np.argpartition(d2, k - 1, axis=1)[:, :k]
    directed = csr_matrix((np.ones(n * k), (np.repeat(np.arange(n), k), nbrs.ravel())), shape=(n, n))
    return directed.multiply(directed.T).tocsr()


def club_clusters(w: np.ndarray, n: np.ndarray, alpha_2: float, n_neighbors: int) -> tuple[np.ndarray, int]:
    """CLUB's clustering of users with estimates ``w (N, d)`` from ``n (N,)`` events each.

    The initial graph is the mutual ``n_neighbors``-nearest-neighbour graph on ``w`` (sparse: the paper's full
    or random graph is ``O(N^2)`` or fragments small clusters); an edge is deleted when
    ``||w_i - w_j|| > alpha_2 (CB(n_i) + CB(n_j))``. Returns the cluster label of each user (connected
    components of what is left) and the number of clusters.

    >>> w = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [3.0, 3.0], [3.1, 3.0]])   # a group of 3, one of 2
    >>> labels, n_clusters = club_clusters(w, np.full(5, 50), alpha_2=1.5, n_neighbors=2)
    >>> labels.tolist(), n_clusters
    ([0, 0, 0, 1, 1], 2)
    >>> club_clusters(w, np.full(5, 50), alpha_2=0.1, n_neighbors=2)[1]   # a small alpha_2 cuts every edge
    5
    """
    n_users = w.shape[0]
    src, dst = sparse_triu(knn_graph(w, n_neighbors), k=1).nonzero()
    cb = confidence_bound(n)
    keep = np.linalg.norm(w[src] - w[dst], axis=1) <= alpha_2 * (cb[src] + cb[dst])
    graph = coo_matrix((np.ones(int(keep.sum())), (src[keep], dst[keep])), shape=(n_users, n_users))
    n_clusters, labels = connected_components(graph, directed=False)
    return labels, int(n_clusters)


@dataclass
class ClubUser:
    """A new user's state: its own statistics and the training clusters it is still connected to.

    >>> import numpy as np, warmstart as ws
    >>> from warmstart.policies import PolicyContext, make_policy
    >>> cfg = ws.sim.LinearTypesConfig(dim=2, n_types=2, n_actions=5, minority_share=0.5, outlier_share=0.0)
    >>> truth = ws.sim.LinearTypesPopulation(cfg)
    >>> truth.type_means.round(2).tolist()                              # the two true types
    [[-1.6, 0.06], [0.74, 0.15]]
    >>> policy = make_policy("club", PolicyContext(train_log=truth.logged(40, 20, seed=0)), seed=0)
    >>> state = policy.new_user()
    >>> state.n, state.connected.tolist()                    # a new user starts tied to every cluster
    (0, [True, True])
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    >>> policy.update(state, X, 2, 1.7)                      # x = [-1, 0] gave 1.7: like the first type
    >>> state.n, state.connected.tolist(), state.b.tolist()
    (1, [False, True], [-1.7, 0.0])
    """

    A: np.ndarray
    b: np.ndarray
    n: int
    connected: np.ndarray
    agg_A: np.ndarray
    agg_b: np.ndarray

    @property
    def n_connected(self) -> int:
        return int(self.connected.sum())


@register_policy("club")
class ClubPolicy(Policy):
    """CLUB (online clustering of bandits) with the training users clustered offline.

    Construction computes each training user's ridge statistics ``M_i = reg I + sum x x^T``, ``b_i = sum x r``
    from its logged chosen actions (padding skipped; users without events left out), builds the mutual
    ``n_neighbors``-nearest-neighbour graph on ``w_i = M_i^{-1} b_i``, deletes CLUB's separated edges and takes
    the connected components as clusters (about 0.3 s for 5,000 users x 50 events). A new user starts
    connected to every cluster; after each reward its edge to cluster ``c`` is deleted when
    ``||w_u - w_c|| > alpha_2 (CB(n_u) + CB(n_c))``, with ``w_c``, ``n_c`` the cluster's pooled estimate and
    event count. It acts by LinUCB on the pooled statistics of itself and its connected clusters,
    ``x . w + alpha * sqrt(x' M^{-1} x * ln(1 + t))``, ``t`` its 1-based round, deterministically (ties broken
    by the policy's generator), so the propensity is 1. Cost per step is ``O(d^3 + A d^2 + C d)`` for ``C``
    clusters, plus ``O(C_connected d^2)`` on a step that deletes edges (cluster aggregates are precomputed);
    about 30 microseconds per act + update at d = 10, 20 actions.

    Settings, chosen by new-user regret (horizon 200; 300 population, 40 minority and 40 outlier users) on
    ``warmstart/LinearTypes-v0`` defaults (d = 10, 20 actions, noise sd 0.5, type means ~ N(0, I), within-type
    sd 0.3; training log 5,000 users x 50 events) over ``alpha`` in {0.1, 0.25, 0.5}, ``alpha_2`` in
    {0, ..., 8}, ``reg`` in {0.1, 0.25, 0.5, 1}:

    * ``reg = 0.25`` (the paper uses 1): the ridge of ``noise_var / prior_var = 0.5^2 / 1`` for per-coordinate
      ``theta`` variance about 1. With ``reg = 1`` the shrunken ``w_u`` of a new user sits far from every
      cluster and regret was about 1-3 per user higher at every ``alpha_2``.
    * ``alpha_2 = 1.5``: the edge-deletion scale (``CB`` has no noise or parameter scale, so ``alpha_2`` carries
      it). Larger values keep the new user tied to pooled cluster statistics that swamp its own data, which
      costs regret (cumulative regret 18 per population user at 1.5, 20 at 3, 22 at 4, 43 at 8; outliers
      suffer most: 18, 23, 32, 120); ``alpha_2 -> 0`` is per-user LinUCB, which measured the same within
      noise for population users (17-18) and slightly worse for minority users (18.5 against 16.5). Here
      CLUB's clusters add little over per-user LinUCB: its model gives everyone in a cluster one shared
      ``theta``, but types have within-type spread. At 1.5 the training clusters are pure by planted type and hold ~92% of each type.
    * ``alpha = 0.25``: the exploration width; ``M`` does not divide out the noise, so the posterior sd of
      ``x . theta`` is ``0.5 sqrt(x' M^{-1} x)``. 0.1 and 0.25 tied; 0.5 was worse by ~0.7 per user.
    * ``n_neighbors = None`` (``ceil(3 ln N)``, 26 for 5,000 users): the paper's sparse ``O(log N)``-degree
      initial graph, built from mutual nearest neighbours rather than at random so that small clusters stay
      connected and outliers do not chain clusters together (with a one-sided k-NN graph, ``alpha_2 >= 2``
      merged types through outliers).

    >>> import numpy as np, warmstart as ws
    >>> from warmstart.policies import PolicyContext, make_policy
    >>> cfg = ws.sim.LinearTypesConfig(dim=2, n_types=2, n_actions=5, minority_share=0.5, outlier_share=0.0)
    >>> truth = ws.sim.LinearTypesPopulation(cfg)
    >>> truth.type_means.round(2).tolist()                              # the two true types
    [[-1.6, 0.06], [0.74, 0.15]]
    >>> policy = make_policy("club", PolicyContext(train_log=truth.logged(40, 20, seed=0)), seed=0)
    >>> settings = policy.settings()
    >>> settings["n_clusters"], settings["largest_clusters"], policy.cluster_w.round(2).tolist()  # 2 types
    (2, [24, 16], [[0.69, 0.17], [-1.5, 0.13]])
    >>> state, X = policy.new_user(), np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    >>> d = policy.act(state, X)
    >>> d.action, d.propensity                                           # LinUCB: deterministic
    (2, 1.0)
    >>> make_policy("club", PolicyContext(train_log=truth.logged(40, 20, seed=0)), alpha=-1.0)
    Traceback (most recent call last):
    ...
    ValueError: alpha: expected a finite non-negative number, got -1.0
    """

    needs_train_log = True

    def __init__(
        self,
        context: PolicyContext,
        *,
        seed: int = 0,
        alpha: float = 0.25,
        alpha_2: float = 1.5,
        reg: float = 0.25,
        n_neighbors: int | None = None,
    ) -> None:
        super().__init__(context, seed=seed)
        for name, value in (("alpha", alpha), ("alpha_2", alpha_2)):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name}: expected a finite non-negative number, got {value!r}")
        if not (math.isfinite(reg) and reg > 0):
            raise ValueError(f"reg: expected a finite positive number, got {reg!r}")
        if n_neighbors is not None and n_neighbors < 1:
            raise ValueError(f"n_neighbors: expected a positive integer or None, got {n_neighbors!r}")
        self.alpha = float(alpha)
        self.alpha_2 = float(alpha_2)
        self.reg = float(reg)
        d = self.dim
        assert context.train_log is not None
        stats = summarise_log(context.train_log)  # the log was validated by Policy.__init__
        A, b, n = stats.A, stats.b, stats.n
        active = n > 0
        A, b, n = A[active], b[active], n[active]
        n_users = int(n.size)
        self.n_train_users = n_users
        self.n_neighbors = (
            int(n_neighbors) if n_neighbors is not None else max(1, math.ceil(3 * math.log(max(n_users, 2))))
        )
        if n_users == 0:
            self.labels = np.zeros(0, dtype=np.int64)
            n_clusters = 0
        else:
            w = ridge(A, b, self.reg)
            self.labels, n_clusters = club_clusters(w, n, self.alpha_2, self.n_neighbors)
        self.n_clusters = n_clusters
        # cluster aggregates, precomputed once: A_c, b_c, n_c, w_c, CB(n_c)
        self.cluster_A = np.zeros((n_clusters, d, d))
        self.cluster_b = np.zeros((n_clusters, d))
        np.add.at(self.cluster_A, self.labels, A)
        np.add.at(self.cluster_b, self.labels, b)
        self.cluster_n = np.bincount(self.labels, weights=n, minlength=n_clusters).astype(float)
        self.cluster_size = np.bincount(self.labels, minlength=n_clusters)
        self.cluster_w = ridge(self.cluster_A, self.cluster_b, self.reg) if n_clusters else np.zeros((0, d))
        self.cluster_cb = confidence_bound(self.cluster_n)
        self._all_A = self.cluster_A.sum(axis=0)
        self._all_b = self.cluster_b.sum(axis=0)
        self._reg_eye = self.reg * np.eye(d)

    def settings(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha,
            "alpha_2": self.alpha_2,
            "reg": self.reg,
            "n_neighbors": self.n_neighbors,
            "initial_graph": "mutual k-nearest-neighbour on ridge estimates",
            "n_train_users": self.n_train_users,
            "n_clusters": self.n_clusters,
            "largest_clusters": sorted(self.cluster_size.tolist(), reverse=True)[:10],
        }

    def _new_user(self, truth: UserTruth | None) -> ClubUser:
        d = self.dim
        return ClubUser(
            A=np.zeros((d, d)),
            b=np.zeros(d),
            n=0,
            connected=np.ones(self.n_clusters, dtype=bool),
            agg_A=self._all_A.copy(),
            agg_b=self._all_b.copy(),
        )

    def _act(self, state: ClubUser, X: np.ndarray) -> Decision:
        M_inv = np.linalg.inv(self._reg_eye + state.A + state.agg_A)
        w = M_inv @ (state.b + state.agg_b)
        width = np.einsum("ad,de,ae->a", X, M_inv, X)
        t = state.n + 1
        scores = X @ w + self.alpha * np.sqrt(np.maximum(width, 0.0) * math.log1p(t))
        top = scores.max()
        best = np.flatnonzero(scores >= top - 1e-12 * max(1.0, abs(top)))
        action = int(best[0]) if best.size == 1 else int(self.rng.choice(best))
        probs = np.zeros(X.shape[0])
        probs[action] = 1.0
        return Decision(action=action, propensity=1.0, probabilities=probs)

    def _update(self, state: ClubUser, X: np.ndarray, action: int, reward: float) -> None:
        x = X[action]
        state.A += np.outer(x, x)
        state.b += reward * x
        state.n += 1
        idx = np.flatnonzero(state.connected)
        if idx.size == 0:
            return
        w_u = np.linalg.solve(self._reg_eye + state.A, state.b)
        gap = np.linalg.norm(self.cluster_w[idx] - w_u, axis=1)
        cut = gap > self.alpha_2 * (float(confidence_bound(state.n)) + self.cluster_cb[idx])
        if cut.any():
            state.connected[idx[cut]] = False
            keep = idx[~cut]
            # recomputed rather than subtracted, so no rounding drift accumulates
            state.agg_A = self.cluster_A[keep].sum(axis=0)
            state.agg_b = self.cluster_b[keep].sum(axis=0)
