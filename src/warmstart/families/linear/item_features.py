"""Item features learned from rewards, for logs that carry none.

The linear user model ``reward = x_item . theta_user + noise`` needs a feature vector per item. When a log has
only ``(user, item, reward)`` (a tutoring log, a catalogue of articles with no metadata), we learn them from the
training users by a regularised matrix factorisation of the user x item reward matrix with biases:

    reward(u, i) ~ mu + a_u + c_i + p_u . q_i

and give item ``i`` the features ``x_i = (1, c_i, q_i)`` (``n_factors + 2`` of them), so that a training user
is ``theta_u = (mu + a_u, 1, p_u)``. The two *bias features* carry most of the signal in practice: the
constant (whose coefficient is the user's overall level) and the item's own bias (how rewarding or easy the
item is; a new user's coefficient on it is learned like any other, so a user may care about popularity more or
less than the training users did). ``mu`` is the weighted mean reward; every other term is shrunk to zero,
the biases by ``bias_reg`` and the latent factors by ``reg``.

Only observed ``(user, item)`` entries enter the loss; an entry is the mean of that user's rewards for the
item and weighs as many events as it averages (``weighting="count"``: the loss is the per-event squared error,
matching the per-event user summaries fitted afterwards) or one (``weighting="entry"``). The loss

    sum_(u,i) w_ui (r_ui - mu - a_u - c_i - p_u . q_i)^2 + reg (|p|^2 + |q|^2) + bias_reg (|a|^2 + |c|^2)

is minimised by alternating least squares: with the items fixed each user's ``(a_u, p_u)`` is a ridge
regression, with the users fixed each item's ``(c_i, q_i)`` is one, and every half-step solves all users (all
items) at once as a batch of small systems (no Python loop over users or items). The start of ``q`` is seeded,
so the same seed gives the same features. An item no training user has seen gets ``c_i = 0, q_i = 0`` (the
ridge solution without data): ``x_i = (1, 0, .., 0)``, the population's level and nothing else.

>>> rng = np.random.default_rng(0)
>>> P, Q = rng.normal(size=(200, 2)), rng.normal(size=(40, 2))
>>> u, i = np.nonzero(rng.random((200, 40)) < 0.5)
>>> cfg = ItemFeatureConfig(n_factors=2, reg=0.1, bias_reg=0.1)
>>> fit = fit_item_features(u, i, (P @ Q.T)[u, i], config=cfg)
>>> fit.features.shape, bool(np.sqrt(np.mean((fit.predict(u, i) - (P @ Q.T)[u, i]) ** 2)) < 0.05)
((40, 4), True)
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from warmstart._persist import Array, FormatError, NpzFormat
from warmstart._validate import check_finite


@dataclass(frozen=True, kw_only=True)
class ItemFeatureConfig:
    """Settings of the factorisation; validated at construction.

    ``n_factors`` latent features (the item features have ``n_factors + 2`` columns with the two biases);
    ``reg`` the ridge penalty on the latent factors of users and items, ``bias_reg`` on the user and item
    biases; at most ``max_iter`` alternations, stopping when the loss drops by less than ``tol`` (relative);
    ``init_scale`` the standard deviation of the seeded random start of the item factors.

    The defaults were chosen on ASSISTments 2009 (items = skills): the earliest 70% of students, 20% of
    their (student, skill) entries held out, count-weighted RMSE. Global mean 0.262; biases only
    (``n_factors=0``) 0.2034; ``n_factors`` 2, 4, 8 with ``reg`` 20 and ``bias_reg`` 10: 0.208, 0.206,
    0.205; ``n_factors=2, reg=50``: 0.2032; ``reg`` of 5 or less overfits (0.22-0.30). On that data the
    latent factors add almost nothing to the biases; two are kept for logs where they do.

    >>> ItemFeatureConfig().dim, ItemFeatureConfig(n_factors=4).to_dict()["n_factors"]   # 2 biases + factors
    (4, 4)
    >>> ItemFeatureConfig(reg=0.0)
    Traceback (most recent call last):
    ...
    ValueError: reg: expected a positive penalty with latent factors (n_factors > 0), got 0
    """

    n_factors: int = 2
    reg: float = 50.0
    bias_reg: float = 10.0
    weighting: Literal["count", "entry"] = "count"
    max_iter: int = 100
    tol: float = 1e-6
    init_scale: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.n_factors, bool) or not isinstance(self.n_factors, int) or self.n_factors < 0:
            raise ValueError(f"n_factors: expected a non-negative integer, got {self.n_factors!r}")
        for name in ("reg", "bias_reg", "init_scale"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"{name}: expected a finite number >= 0, got {value!r}")
        if self.reg == 0 and self.n_factors > 0:
            raise ValueError("reg: expected a positive penalty with latent factors (n_factors > 0), got 0")
        if self.weighting not in ("count", "entry"):
            raise ValueError(f"weighting: expected 'count' or 'entry', got {self.weighting!r}")
        if self.max_iter < 1 or not self.tol > 0:
            raise ValueError(f"max_iter and tol: expected max_iter >= 1 and tol > 0, got {self.max_iter} and "
                             f"{self.tol}")

    @property
    def dim(self) -> int:
        """Number of item features: the constant, the item bias and the latent factors."""
        return self.n_factors + 2

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, eq=False)
class ItemFeatures:
    """A fitted factorisation.

    ``features (n_items, 2 + n_factors)``: ``(1, c_i, q_i)`` per item; ``user_factors (n_users, 2 + n_factors)``:
    ``(mu + a_u, 1, p_u)`` per training user; ``item_counts (n_items,)`` how many training events each item has;
    ``loss`` the objective after each alternation; ``rmse`` the weighted training RMSE on the entries.

    >>> rng = np.random.default_rng(0)
    >>> user, item = np.repeat(np.arange(40), 6), np.tile(np.arange(6), 40)       # 40 users rate 6 items
    >>> reward = np.where((user < 20) == (item < 3), 1.0, 0.0) + 0.1 * rng.standard_normal(240)  # 2 tastes
    >>> cfg = ItemFeatureConfig(n_factors=1, reg=1.0, bias_reg=1.0)
    >>> fit = fit_item_features(user, item, reward, config=cfg)
    >>> fit.features.shape, round(fit.rmse, 3), fit.diagnostics()["converged"]
    ((6, 3), 0.1, True)
    >>> fit.predict(np.array([0, 39]), np.array([0, 0])).round(2).tolist()   # user 0 likes item 0; 39 not
    [0.94, -0.06]
    """

    features: np.ndarray
    user_factors: np.ndarray
    item_counts: np.ndarray
    loss: list[float]
    rmse: float
    converged: bool
    config: ItemFeatureConfig = field(default_factory=ItemFeatureConfig)

    @property
    def dim(self) -> int:
        return int(self.features.shape[1])

    def predict(self, user: np.ndarray, item: np.ndarray) -> np.ndarray:
        """Predicted reward of training users ``user`` on items ``item`` (arrays of indices, broadcast)."""
        return np.einsum("...d,...d->...", self.user_factors[np.asarray(user)], self.features[np.asarray(item)])

    def diagnostics(self) -> dict[str, Any]:
        return {"dim": self.dim, "n_iter": len(self.loss), "converged": self.converged, "train_rmse": self.rmse,
                "loss": self.loss[-1] if self.loss else None,
                "items_without_training_events": int((self.item_counts == 0).sum()),
                "config": self.config.to_dict()}


def aggregate_entries(user: np.ndarray, item: np.ndarray, reward: np.ndarray,
                      n_items: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct ``(user, item)`` pairs with the mean reward and the number of events of each.

    >>> user, item, mean, count = aggregate_entries(np.array([0, 0, 1]), np.array([2, 2, 0]),
    ...                                             np.array([1.0, 0.0, 0.5]), n_items=3)
    >>> user.tolist(), item.tolist(), mean.tolist(), count.tolist()
    ([0, 1], [2, 0], [0.5, 0.5], [2.0, 1.0])
    """
    key = np.asarray(user, dtype=np.int64) * n_items + np.asarray(item, dtype=np.int64)
    uniq, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    mean = np.bincount(inverse.ravel(), weights=reward, minlength=uniq.shape[0]) / counts
    return uniq // n_items, uniq % n_items, mean, counts.astype(np.float64)


def _group_matrix(group: np.ndarray, weight: np.ndarray, n_groups: int) -> sp.csr_matrix:
    """Sparse ``(n_groups, n_entries)`` matrix: row g sums entries of group g, each times its weight."""
    return sp.csr_matrix((weight, (group, np.arange(group.shape[0]))), shape=(n_groups, group.shape[0]))


def _pair_matrix(group: np.ndarray, other: np.ndarray, weight: np.ndarray, n_groups: int,
                 n_other: int) -> sp.csr_matrix:
    """Sparse ``(n_groups, n_other)`` matrix of the entries' weights at ``(group, other)`` (repeats add up)."""
    return sp.csr_matrix((weight, (group, other)), shape=(n_groups, n_other))


def _gram(pairs: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
    """Per group ``g``, ``sum_o pairs[g, o] rows[o] rows[o]'`` as ``(n_groups, d, d)``: each row's outer
    product is formed once and the entries only weigh them (cheaper and smaller than one outer product per
    entry, which a log of a million events made the factorisation's main cost)."""
    d = rows.shape[1]
    return (pairs @ (rows[:, :, None] * rows[:, None, :]).reshape(-1, d * d)).reshape(-1, d, d)


def _ridge_batch(S: sp.csr_matrix, pairs: sp.csr_matrix, rows: np.ndarray, other: np.ndarray, y: np.ndarray,
                 penalty: np.ndarray) -> np.ndarray:
    """Solve ``(sum_e w z z' + diag(penalty)) beta_g = sum_e w z y`` for every group ``g`` at once, where entry
    ``e``'s ``z`` is ``rows[other[e]]`` (the other side's row: the item's for a user, the user's for an item);
    ``S`` sums the entries of each group with their weights, ``pairs`` (``_pair_matrix``) holds the same
    weights by the other side's index. Where float64 cannot resolve the penalty beside entries near ``1e16``
    (``z`` from rewards near the bounds) and finds a system singular, the minimum-norm least-squares solutions
    instead.

    >>> group, other, w = np.array([0, 0, 1]), np.array([0, 1, 1]), np.ones(3)
    >>> rows, y = np.array([[1.0, 0.0], [1.0, 2.0]]), np.array([1.0, 3.0, 3.0])
    >>> beta = _ridge_batch(_group_matrix(group, w, 2), _pair_matrix(group, other, w, 2, 2), rows, other, y,
    ...                     np.array([1e-9, 1e-9]))
    >>> np.round(beta[0], 6).tolist()                      # group 0 fits 1 + 1.0 * z2 exactly
    [1.0, 1.0]
    """
    A = _gram(pairs, rows) + np.diag(penalty)
    b = S @ (rows[other] * y[:, None])
    return _solve_spd(A, b)


def _solve_spd(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``A x = b`` for stacks of symmetric positive semi-definite ``A (g, d, d)`` and ``b (g, d)``; a stack
    float64 finds singular is solved in the least-squares, minimum-norm sense instead."""
    try:
        return np.linalg.solve(A, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        return np.einsum("gij,gj->gi", np.linalg.pinv(A, hermitian=True), b)


def fit_item_features(user: np.ndarray, item: np.ndarray, reward: np.ndarray, *, n_users: int | None = None,
                      n_items: int | None = None, config: ItemFeatureConfig | None = None) -> ItemFeatures:
    """Learn item features from events ``(user[r], item[r], reward[r])`` (indices, any order, repeats allowed).

    ``n_users`` / ``n_items`` default to one more than the largest index; items without events get
    ``x = (1, 0, .., 0)``. See the module docstring for the model and the algorithm.

    >>> rng = np.random.default_rng(0)
    >>> user, item = np.repeat(np.arange(40), 6), np.tile(np.arange(6), 40)       # 40 users rate 6 items
    >>> reward = np.where((user < 20) == (item < 3), 1.0, 0.0) + 0.1 * rng.standard_normal(240)  # 2 tastes
    >>> fit = fit_item_features(user, item, reward, n_items=7,
    ...                         config=ItemFeatureConfig(n_factors=1, reg=1.0, bias_reg=1.0))
    >>> fit.features.shape, fit.features[6].tolist()              # item 6 has no events: (1, 0, 0)
    ((7, 3), [1.0, 0.0, 0.0])
    """
    cfg = config or ItemFeatureConfig()
    user = np.asarray(user)
    item = np.asarray(item)
    reward = np.asarray(reward, dtype=np.float64)
    n = reward.shape[0]
    for name, arr in (("user", user), ("item", item)):
        if arr.shape != (n,):
            raise ValueError(f"{name}: expected shape ({n},) like reward, got shape {arr.shape}")
        if n and not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"{name}: expected integer indices, got dtype {arr.dtype}")
        if n and arr.min() < 0:
            raise ValueError(f"{name}: expected indices >= 0, got {int(arr.min())}")
    if n == 0:
        raise ValueError("reward: expected at least one event to learn item features from, got none")
    check_finite("reward", reward)
    n_users = int(user.max()) + 1 if n_users is None else int(n_users)
    n_items = int(item.max()) + 1 if n_items is None else int(n_items)
    if user.max() >= n_users or item.max() >= n_items:
        raise ValueError(f"n_users, n_items: expected more than the largest indices ({int(user.max())}, "
                         f"{int(item.max())}), got {n_users} and {n_items}")
    eu, ei, er, counts = aggregate_entries(user, item, reward, n_items)
    w = counts if cfg.weighting == "count" else np.ones_like(counts)
    mu = float(w @ er / w.sum())
    y = er - mu
    k = cfg.n_factors
    rng = np.random.default_rng(cfg.seed)
    # item side (c_i, q_i) and user side (a_u, p_u); the other side's bias enters with coefficient 1
    item_side = np.column_stack([np.zeros(n_items), cfg.init_scale * rng.standard_normal((n_items, k))])
    user_side = np.zeros((n_users, k + 1))
    S_user = _group_matrix(eu, w, n_users)
    S_item = _group_matrix(ei, w, n_items)
    P_user = _pair_matrix(eu, ei, w, n_users, n_items)
    P_item = P_user.T.tocsr()
    pen = np.r_[max(cfg.bias_reg, 1e-12), np.full(k, cfg.reg)]
    loss: list[float] = []
    converged = False
    resid = y
    for _ in range(cfg.max_iter):
        item_rows = np.column_stack([np.ones(n_items), item_side[:, 1:]])  # (1, q_i)
        user_side = _ridge_batch(S_user, P_user, item_rows, ei, y - item_side[ei, 0], pen)
        user_rows = np.column_stack([np.ones(n_users), user_side[:, 1:]])  # (1, p_u)
        a, p = user_side[eu, 0], user_side[eu, 1:]
        item_side = _ridge_batch(S_item, P_item, user_rows, eu, y - a, pen)
        resid = y - a - item_side[ei, 0] - np.einsum("ek,ek->e", p, item_side[ei, 1:])
        value = float(w @ resid**2 + cfg.reg * ((user_side[:, 1:] ** 2).sum() + (item_side[:, 1:] ** 2).sum())
                      + cfg.bias_reg * ((user_side[:, 0] ** 2).sum() + (item_side[:, 0] ** 2).sum()))
        done = bool(loss) and loss[-1] - value <= cfg.tol * max(abs(value), 1e-12)
        loss.append(value)
        if done:
            converged = True
            break
    # x_i = (1, c_i, q_i), theta_u = (mu + a_u, 1, p_u): prediction mu + a_u + c_i + p_u . q_i
    features = np.column_stack([np.ones(n_items), item_side])
    P = np.column_stack([mu + user_side[:, 0], np.ones(n_users), user_side[:, 1:]])
    item_counts = np.bincount(ei, weights=counts, minlength=n_items)
    rmse = float(np.sqrt((w @ resid**2) / w.sum()))
    return ItemFeatures(features, P, item_counts, loss, rmse, converged, cfg)


def leave_user_out(fit: ItemFeatures, user: np.ndarray, item: np.ndarray, reward: np.ndarray,
                   chunk: int = 100_000) -> np.ndarray:
    """Per event, its item's features ``(1, c_i, q_i)`` re-solved without that event's user: ``(n_events,
    dim)`` for the events ``fit`` was fitted on (the same ``user``, ``item``, ``reward``).

    An item's ``(c_i, q_i)`` is a ridge regression on the rewards of the users who had it, so a training user's
    own reward is in the features their statistics are computed with: with few users per item the features
    predict those rewards in-sample far better than they predict a new user's (an item only one user had
    fits that user's reward exactly), and a population fitted on such statistics learns too little noise and
    too much weight on the learned features. Here each event gets its item's solution with the user's
    entry taken out of the item's normal equations (the user factors fixed at the fit's), which is what a
    new user's item looks like: an item no other user had gets ``(1, 0, .., 0)``, as an unseen item does.

    >>> rng = np.random.default_rng(0)
    >>> user, item = np.repeat(np.arange(40), 6), np.tile(np.arange(6), 40)       # 40 users rate 6 items
    >>> reward = np.where((user < 20) == (item < 3), 1.0, 0.0) + 0.1 * rng.standard_normal(240)  # 2 tastes
    >>> fit = fit_item_features(user, item, reward, config=ItemFeatureConfig(n_factors=1, reg=1.0, bias_reg=1.0))
    >>> rows = leave_user_out(fit, user, item, reward)
    >>> rows.shape, bool(np.abs(rows - fit.features[item]).max() < 0.1)   # 40 users an item: close to the fit
    ((240, 3), True)
    >>> lone = leave_user_out(fit, np.array([0]), np.array([0]), np.array([1.0]))  # item 0 had by user 0 only
    >>> lone.tolist()
    [[1.0, 0.0, 0.0]]
    """
    cfg = fit.config
    user = np.asarray(user, dtype=np.int64)
    item = np.asarray(item, dtype=np.int64)
    reward = np.asarray(reward, dtype=np.float64)
    n_items, n_users = fit.features.shape[0], fit.user_factors.shape[0]
    if user.shape != item.shape or user.shape != reward.shape or user.ndim != 1:
        raise ValueError(f"user, item, reward: expected three arrays of one shape (n_events,), got {user.shape}, "
                         f"{item.shape} and {reward.shape}")
    if user.size and (user.min() < 0 or user.max() >= n_users or item.min() < 0 or item.max() >= n_items):
        raise ValueError(f"user, item: expected the indices the fit was made on (< {n_users} users, < {n_items} "
                         "items)")
    if user.size == 0:
        return np.zeros((0, fit.dim))
    eu, ei, er, counts = aggregate_entries(user, item, reward, n_items)
    w = counts if cfg.weighting == "count" else np.ones_like(counts)
    mu = float(w @ er / w.sum())
    # theta_u = (mu + a_u, beta_u, p_u): beta_u = 1 from the factorisation, the user's own weight on the item
    # bias after ``type_refine.refine_items``
    a, p = fit.user_factors[:, 0] - mu, fit.user_factors[:, 1:]
    Z = p[eu]
    y = er - mu - a[eu]
    d = Z.shape[1]
    S_item = _group_matrix(ei, w, n_items)
    A = _gram(_pair_matrix(ei, eu, w, n_items, p.shape[0]), p)
    A = A + np.diag(np.r_[max(cfg.bias_reg, 1e-12), np.full(d - 1, cfg.reg)])
    b = S_item @ (Z * y[:, None])
    entry = np.empty((eu.shape[0], d))
    for start in range(0, eu.shape[0], chunk):
        sl = slice(start, start + chunk)
        zs, ws = Z[sl], w[sl]
        A_out = A[ei[sl]] - ws[:, None, None] * zs[:, :, None] * zs[:, None, :]
        b_out = b[ei[sl]] - ws[:, None] * zs * y[sl, None]
        entry[sl] = _solve_spd(A_out, b_out)
    # each event takes its (user, item) entry's solution
    at = np.searchsorted(eu * n_items + ei, user * n_items + item)
    return np.column_stack([np.ones(user.shape[0]), entry[at]])


# ---------------------------------------------------------------------------------------------- persistence
ITEM_FEATURES_FORMAT = "warmstart.item_features"
ITEM_FEATURES_VERSION = 1


class ItemFeaturesFormatError(FormatError):
    """An item features file that cannot be read: wrong format, unknown version, bad arrays or damaged.

    >>> np.savez("not_items.npz", x=np.zeros(1))
    >>> load_item_features("not_items.npz")
    Traceback (most recent call last):
    ...
    warmstart.families.linear.item_features.ItemFeaturesFormatError: item features file not_items.npz: ...
    """


#: the item features file (``warmstart._persist``; no ``warmstart_version`` in its metadata, as before)
_FILE = NpzFormat(ITEM_FEATURES_FORMAT, ITEM_FEATURES_VERSION,
                  (Array("item_ids", kinds="U", dtype=None, ndim=1), Array("features", ndim=2)),
                  ItemFeaturesFormatError, "item features file", stamp=False)


def save_item_features(path: str | os.PathLike[str], item_ids: np.ndarray, features: np.ndarray,
                       info: dict[str, Any] | None = None) -> Path:
    """Write item ids and their features to ``.npz`` (no pickle), with JSON metadata (format name, version,
    dim, ``info``), atomically. A population fitted on these features needs them to serve new users.

    >>> path = save_item_features("items.npz", np.array(["a", "b"]), np.array([[1.0, 0.5], [1.0, -0.5]]),
    ...                           info={"source": "learned"})
    >>> path.name, load_item_features(path)[2]["dim"]
    ('items.npz', 2)
    """
    ids = np.asarray(item_ids, dtype=str)
    X = np.asarray(features, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] != ids.shape[0]:
        raise ValueError(f"features: expected shape ({ids.shape[0]}, d), one row per item id, got {X.shape}")
    check_finite("features", X)
    meta = {"dim": int(X.shape[1]), "n_items": int(ids.shape[0]), "info": info or {}}
    return _FILE.save(path, {"item_ids": ids, "features": X}, meta)


def load_item_features(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Read ``(item_ids, features, meta)`` written by ``save_item_features``; an ``ItemFeaturesFormatError`` (a
    ``ValueError``) names what is wrong with anything else.

    >>> _ = save_item_features("items.npz", np.array(["a", "b"]), np.array([[1.0, 0.5], [1.0, -0.5]]),
    ...                        info={"source": "learned"})
    >>> ids, features, meta = load_item_features("items.npz")
    >>> ids.tolist(), features.tolist(), meta["info"]
    (['a', 'b'], [[1.0, 0.5], [1.0, -0.5]], {'source': 'learned'})
    """
    path = Path(path)
    meta, arrays = _FILE.load(path)
    ids, X = arrays["item_ids"], arrays["features"]
    if X.shape[0] != ids.shape[0]:
        raise _FILE.fail(path, f"expected features of shape ({ids.shape[0]}, d), one row per item id, got {X.shape}")
    return ids, X, meta
