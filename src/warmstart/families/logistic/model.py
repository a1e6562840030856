"""The Bernoulli-logistic model's maths: a user's events, and the assumed-density filter over a user's weights.

A user answers the item ``x`` with ``r = 1`` with probability ``sigmoid(x . w)``; a type is a Gaussian over
``w``. The filter keeps, per type, a Gaussian belief ``N(m, S)`` over the user's ``w`` and takes one event at a
time by **assumed-density filtering** (Minka, "A family of algorithms for approximate Bayesian inference", MIT
PhD thesis 2001; the same update as adPredictor, Graepel et al., ICML 2010): the likelihood is the logistic's
probit approximation ``sigmoid(z) ~ Phi(kappa z)``, ``kappa^2 = pi / 8`` (MacKay, "The evidence framework
applied to classification networks", 1992), under which the predictive probability and the moment-matched
posterior are closed form. With ``a = x . m``, ``s^2 = x' S x`` and ``y = 2 r - 1``::

    P(r | earlier events) = Phi(t),  t = y kappa a / sqrt(1 + kappa^2 s^2)   (~ sigmoid(a / sqrt(1 + pi s^2 / 8)))
    m <- m + y kappa v(t) / sqrt(1 + kappa^2 s^2) * S x
    S <- S - kappa^2 v(t) (v(t) + t) / (1 + kappa^2 s^2) * (S x)(S x)'

with ``v(t) = phi(t) / Phi(t)`` computed in logs (``scipy.special.log_ndtr``), so a logit of any size neither
overflows nor divides by zero, and ``x' S x`` only shrinks by a factor in ``(0, 1]``: the covariance stays
positive definite. The sum of the log predictive probabilities is the user's log evidence under the type (by
the chain rule), which is what the type posterior and the EM fit read. This is the Gaussian-posterior
counterpart of the online Laplace approximation of Chapelle and Li ("An empirical evaluation of Thompson
sampling", NIPS 2011), with a full covariance and moment matching in place of one Newton step.

>>> events = Events.from_arrays(np.ones((2, 3, 1)), np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]))
>>> out = adf_pass(events, np.array([[0.0]]), np.array([[[4.0]]]))   # one type: w ~ N(0, 4)
>>> out.mean[:, 0, 0].round(2).tolist(), np.exp(out.log_evidence[:, 0]).round(3).tolist()  # P(1, 1, 1)
([2.08, -2.08], [0.285, 0.285])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import expit, log_ndtr

#: kappa^2 of the probit approximation sigmoid(z) ~ Phi(kappa z)
KAPPA2 = math.pi / 8.0
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def check_binary(name: str, values: np.ndarray) -> None:
    """A ``ValueError`` naming ``name`` unless every value is 0 or 1.

    >>> check_binary("reward", np.array([0.0, 1.0, 1.0]))
    >>> check_binary("reward", np.array([0.0, 4.5]))
    Traceback (most recent call last):
    ...
    ValueError: reward: expected 0/1 rewards for the Bernoulli-logistic family, got 4.5 (values seen: [0.0, 4.5])
    """
    arr = np.asarray(values, dtype=np.float64)
    bad = ~((arr == 0.0) | (arr == 1.0))
    if np.any(bad):
        seen = np.unique(arr)
        shown = seen[:6].tolist() + (["..."] if seen.size > 6 else [])
        raise ValueError(f"{name}: expected 0/1 rewards for the Bernoulli-logistic family, got "
                         f"{float(arr[bad].flat[0])} (values seen: {shown})")


@dataclass(frozen=True, eq=False)
class Events:
    """Users' events, padded: ``x (N, T, d)`` the chosen items' features, ``r (N, T)`` the 0/1 rewards,
    ``length (N,)`` the events of each user (a user's events are ``[:length]``, in time order). Checked at
    construction: rewards of real events must be 0 or 1.

    >>> ev = Events.from_arrays(np.ones((2, 3, 1)), np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]),
    ...                         np.array([[True, True, True], [True, False, False]]))
    >>> ev.n_users, ev.dim, ev.length.tolist(), ev.take(np.array([1])).length.tolist(), ev.first(2).length.tolist()
    (2, 1, [3, 1], [1], [2, 1])
    >>> Events.from_arrays(np.ones((1, 2, 1)), np.array([[1.0, 0.5]]))
    Traceback (most recent call last):
    ...
    ValueError: reward: expected 0/1 rewards for the Bernoulli-logistic family, got 0.5 (values seen: [0.5, 1.0])
    """

    x: np.ndarray
    r: np.ndarray
    length: np.ndarray

    def __post_init__(self) -> None:
        if self.x.ndim != 3 or self.r.shape != self.x.shape[:2] or self.length.shape != self.x.shape[:1]:
            raise ValueError(f"events: expected x (N, T, d), r (N, T), length (N,), got shapes {self.x.shape}, "
                             f"{self.r.shape}, {self.length.shape}")
        real = np.arange(self.r.shape[1])[None, :] < self.length[:, None]
        check_binary("reward", self.r[real])
        if not np.all(np.isfinite(self.x[real])):
            raise ValueError("x: expected finite item features on every event")

    @staticmethod
    def from_arrays(x: np.ndarray, r: np.ndarray, mask: np.ndarray | None = None) -> Events:
        """From padded arrays and a mask of real events (default: all real); each user's real events are moved
        to the front, in order."""
        x = np.asarray(x, dtype=np.float64)
        r = np.asarray(r, dtype=np.float64)
        mask = np.ones(r.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
        if mask.shape != r.shape or x.shape[:2] != r.shape:
            raise ValueError(f"x, r, mask: expected shapes (N, T, d), (N, T), (N, T), got {x.shape}, {r.shape}, "
                             f"{mask.shape}")
        order = np.argsort(~mask, axis=1, kind="stable")  # real events first, in order
        length = mask.sum(1).astype(np.int64)
        keep = np.arange(r.shape[1])[None, :] < length[:, None]
        xs = np.where(keep[..., None], np.take_along_axis(x, order[..., None], axis=1), 0.0)
        rs = np.where(keep, np.take_along_axis(r, order, axis=1), 0.0)
        return Events(xs, rs, length)

    @staticmethod
    def from_rows(user: np.ndarray, rows: np.ndarray, reward: np.ndarray, n_users: int) -> Events:
        """From one row per event (``user`` sorted, each user's rows in time order), as ``EventData`` holds
        them: ``rows (n_events, d)`` the events' features.

        >>> Events.from_rows(np.array([0, 0, 1]), np.ones((3, 2)), np.array([1.0, 0.0, 1.0]), 2).length.tolist()
        [2, 1]
        """
        user = np.asarray(user, dtype=np.int64)
        length = np.bincount(user, minlength=n_users).astype(np.int64)
        starts = np.concatenate([[0], np.cumsum(length)])
        pos = np.arange(user.shape[0]) - starts[user]
        T = int(length.max(initial=1))
        x = np.zeros((n_users, T, rows.shape[1]))
        r = np.zeros((n_users, T))
        x[user, pos] = rows
        r[user, pos] = reward
        return Events(x, r, length)

    @property
    def n_users(self) -> int:
        return int(self.r.shape[0])

    @property
    def dim(self) -> int:
        return int(self.x.shape[2])

    def take(self, index: np.ndarray | slice) -> Events:
        return Events(self.x[index], self.r[index], self.length[index])

    def first(self, n: int) -> Events:
        """Every user's first ``n`` events."""
        return Events(self.x[:, :n], self.r[:, :n], np.minimum(self.length, n))


def adf_step(mean: np.ndarray, cov: np.ndarray, x: np.ndarray, r: np.ndarray | float) -> np.ndarray:
    """One event for a batch of beliefs, in place: ``mean (..., d)``, ``cov (..., d, d)``, ``x (..., d)`` and
    ``r (...)`` broadcast over the leading axes. Returns the log predictive probability of each ``r``.

    >>> mean, cov = np.zeros((2, 1)), np.stack([np.eye(1), 9.0 * np.eye(1)])    # two types, one feature
    >>> logp = adf_step(mean, cov, np.ones(1), np.float64(1.0))
    >>> np.exp(logp).round(2).tolist(), mean.ravel().round(2).tolist(), cov.ravel().round(2).tolist()
    ([0.5, 0.5], [0.42, 2.11], [0.82, 4.53])
    """
    sx = np.einsum("...ij,...j->...i", cov, x)
    s2 = np.einsum("...i,...i->...", x, sx)
    a = np.einsum("...i,...i->...", x, mean)
    y = 2.0 * np.asarray(r, dtype=np.float64) - 1.0
    root = np.sqrt(1.0 + KAPPA2 * s2)
    t = y * math.sqrt(KAPPA2) * a / root
    logp = log_ndtr(t)
    v = np.exp(-0.5 * t * t - _LOG_SQRT_2PI - logp)  # phi(t) / Phi(t), stable for t << 0
    mean += (y * math.sqrt(KAPPA2) * v / root)[..., None] * sx
    cov -= (KAPPA2 * v * (v + t) / (root * root))[..., None, None] * sx[..., :, None] * sx[..., None, :]
    return np.asarray(logp)


def soft_step(mean: np.ndarray, cov: np.ndarray, x: np.ndarray, y: float) -> np.ndarray:
    """One event with a fractional target ``y`` in ``[0, 1]`` (a mean of 0/1 answers, as a replay gives for an
    item a user answered several times), in place: one Newton step of the online Laplace approximation
    (Chapelle and Li, NIPS 2011) on the cross-entropy ``y log sigmoid(x . w) + (1 - y) log sigmoid(-x . w)``
    from the belief's mean (``p = sigmoid(x . m)``, ``lambda = p (1 - p)``)::

        m <- m + (y - p) / (1 + lambda s^2) * S x,      S <- S - lambda / (1 + lambda s^2) * (S x)(S x)'

    Returns the pseudo log likelihood ``y log P + (1 - y) log(1 - P)`` with ``P`` the predictive probability
    (``predict_proba``), what the type posterior adds. The family itself observes only 0/1 rewards.

    >>> mean, cov = np.zeros((1, 1)), np.eye(1)[None]
    >>> round(float(soft_step(mean, cov, np.ones(1), 0.5)[0]), 3), mean.ravel().tolist(), cov.ravel().tolist()
    (-0.693, [0.0], [0.8])
    """
    sx = np.einsum("...ij,...j->...i", cov, x)
    s2 = np.einsum("...i,...i->...", x, sx)
    a = np.einsum("...i,...i->...", x, mean)
    t = math.sqrt(KAPPA2) * a / np.sqrt(1.0 + KAPPA2 * s2)
    logp = y * log_ndtr(t) + (1.0 - y) * log_ndtr(-t)
    p = expit(a)
    lam = p * (1.0 - p)
    mean += ((y - p) / (1.0 + lam * s2))[..., None] * sx
    cov -= (lam / (1.0 + lam * s2))[..., None, None] * sx[..., :, None] * sx[..., None, :]
    return np.asarray(logp)


def predict_proba(mean: np.ndarray, cov: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``P(r = 1)`` of the item ``x`` under beliefs ``N(mean, cov)`` (leading axes broadcast): ``Phi(kappa a /
    sqrt(1 + kappa^2 s^2))``, about ``sigmoid(a / sqrt(1 + pi s^2 / 8))``.

    >>> predict_proba(np.array([[2.0], [2.0]]), np.stack([np.zeros((1, 1)), 100.0 * np.eye(1)]), np.ones(1)
    ...               ).round(3).tolist()
    [0.895, 0.578]
    """
    sx = np.einsum("...ij,...j->...i", cov, x)
    s2 = np.einsum("...i,...i->...", x, sx)
    a = np.einsum("...i,...i->...", x, mean)
    return np.asarray(np.exp(log_ndtr(math.sqrt(KAPPA2) * a / np.sqrt(1.0 + KAPPA2 * s2))))


@dataclass(frozen=True, eq=False)
class PassResult:
    """What ``adf_pass`` returns: per user and type the log evidence ``(N, K)``, the final belief ``mean (N, K,
    d)``, ``cov (N, K, d, d)``, and with ``per_step`` the log predictive probability of every event ``(N, T, K)``
    (0 on padding).

    >>> out = adf_pass(Events.from_arrays(np.ones((1, 2, 1)), np.ones((1, 2))), np.zeros((1, 1)),
    ...                np.eye(1)[None], per_step=True)
    >>> out.per_step.shape, bool(np.isclose(out.per_step.sum(), out.log_evidence.sum()))
    ((1, 2, 1), True)
    """

    log_evidence: np.ndarray
    mean: np.ndarray
    cov: np.ndarray
    per_step: np.ndarray | None = None


def adf_pass(events: Events, mu: np.ndarray, cov: np.ndarray, *, per_step: bool = False) -> PassResult:
    """Filter every user's events under every type (``mu (K, d)``, ``cov (K, d, d)``), vectorised over users
    and types: users are visited longest first so that the users still filtering at step ``t`` are a prefix
    (views, no gathers); the cost is ``n_events * K * d^2``.

    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(3, 40, 2))
    >>> r = (rng.random((3, 40)) < 1 / (1 + np.exp(-x @ np.array([3.0, 0.0])))).astype(float)
    >>> out = adf_pass(Events.from_arrays(x, r), np.zeros((2, 2)), np.stack([np.eye(2), 0.01 * np.eye(2)]))
    >>> out.mean[:, 0].round(1).tolist()          # type 0 (broad prior) moves towards (3, 0)
    [[2.2, 0.2], [1.8, 0.4], [2.3, -0.8]]
    >>> bool((out.log_evidence[:, 0] > out.log_evidence[:, 1]).all())   # and explains the users better
    True
    """
    n, k, d = events.n_users, mu.shape[0], mu.shape[1]
    order = np.argsort(-events.length, kind="stable")
    x, r, length = events.x[order], events.r[order], events.length[order]
    mean = np.broadcast_to(mu, (n, k, d)).copy()
    sig = np.broadcast_to(cov, (n, k, d, d)).copy()
    logev = np.zeros((n, k))
    steps = np.zeros((n, x.shape[1], k)) if per_step else None
    active = n
    for t in range(int(length.max(initial=0))):
        while active > 0 and length[active - 1] <= t:
            active -= 1
        logp = adf_step(mean[:active], sig[:active], x[:active, t, None, :], r[:active, t, None])
        logev[:active] += logp
        if steps is not None:
            steps[:active, t] = logp
    sig = 0.5 * (sig + np.swapaxes(sig, -1, -2))
    back = np.empty_like(order)
    back[order] = np.arange(n)
    return PassResult(logev[back], mean[back], sig[back], None if steps is None else steps[back])
