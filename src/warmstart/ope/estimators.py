"""Off-policy estimators computed from logged propensities: IPS, SNIPS, DM and DR, with a percentile bootstrap.

Definitions follow the Open Bandit Pipeline (Saito et al., arXiv:2008.07146; ``obp.ope.estimators``), so that on
the same inputs the estimates agree with obp's ``InverseProbabilityWeighting``, ``SelfNormalizedInverseProbability
Weighting``, ``DirectMethod`` and ``DoublyRobust``. With ``w_t = pi_e(a_t | x_t, k_t) / pscore_t``:

- IPS   ``mean_t(w_t r_t)``
- SNIPS ``sum_t(w_t r_t) / sum_t(w_t)``
- DM    ``mean_t(sum_a pi_e(a | x_t, k_t) q_hat(x_t, a, k_t))``
- DR    ``mean_t(q_hat(x_t, pi_e) + w_t (r_t - q_hat(x_t, a_t, k_t)))``

where ``k_t`` is the logged position (slot) of round ``t`` when the evaluation policy's ``action_dist`` has a
position axis. Each estimator is a mean of per-round values (for SNIPS, ``w_t r_t / mean(w)`` as in obp); the
bootstrap resamples those values.

Example
-------
>>> import numpy as np
>>> reward = np.array([1.0, 0.0, 1.0, 0.0])
>>> action = np.array([0, 1, 0, 1])
>>> pscore = np.full(4, 0.5)
>>> always_0 = np.tile([1.0, 0.0], (4, 1))
>>> ips(reward, action, pscore, always_0)
1.0
>>> estimate_all(reward, action, pscore, always_0, n_boot=200, seed=0)["snips"].estimate
1.0
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from warmstart import stats
from warmstart._validate import check_finite, check_shape

__all__ = [
    "ESTIMATORS",
    "LoggedFeedback",
    "OPEResult",
    "bootstrap_ci",
    "dm",
    "dr",
    "estimate_all",
    "estimate_feedback",
    "ips",
    "logged_feedback",
    "snips",
]

# tolerance on "each row of action_dist sums to 1" (obp uses np.allclose, i.e. about 1e-8 relative + 1e-5)
_SUM_TOL = 1e-6


@dataclass(frozen=True)
class OPEResult:
    """One estimator's estimate of the evaluation policy's value, its percentile-bootstrap CI, and n rounds.

    >>> import numpy as np
    >>> reward, action, pscore = np.array([1.0, 0.0, 1.0, 0.0]), np.array([0, 1, 0, 1]), np.full(4, 0.5)
    >>> always_0 = np.tile([1.0, 0.0], (4, 1))           # the evaluation policy: action 0 every round
    >>> estimate_all(reward, action, pscore, always_0, n_boot=200, seed=0)["ips"]
    OPEResult(name='ips', estimate=1.0, ci95=(0.0, 2.0), n=4)
    """

    name: str
    estimate: float
    ci95: tuple[float, float]
    n: int


@dataclass(frozen=True, eq=False)
class LoggedFeedback:
    """Validated inputs, in the positional form ``action_dist`` of shape ``(n, n_actions, len_list)``.

    Build it with :func:`logged_feedback`, which checks everything once; the estimators trust it.

    >>> import numpy as np
    >>> reward, action, pscore = np.array([1.0, 0.0, 1.0, 0.0]), np.array([0, 1, 0, 1]), np.full(4, 0.5)
    >>> always_0 = np.tile([1.0, 0.0], (4, 1))           # the evaluation policy: action 0 every round
    >>> fb = logged_feedback(reward, action, pscore, always_0)
    >>> fb.n, fb.weights.tolist(), fb.action_dist.shape                # one position: len_list = 1
    (4, [2.0, 0.0, 2.0, 0.0], (4, 2, 1))
    """

    reward: np.ndarray  # (n,) float
    action: np.ndarray  # (n,) int
    pscore: np.ndarray  # (n,) float in (0, 1]
    position: np.ndarray  # (n,) int in [0, len_list)
    action_dist: np.ndarray  # (n, n_actions, len_list)
    estimated_rewards: np.ndarray | None  # (n, n_actions, len_list) or None

    @property
    def n(self) -> int:
        return int(self.reward.shape[0])

    @property
    def weights(self) -> np.ndarray:
        """Importance weight of each round, ``pi_e(a_t | x_t, k_t) / pscore_t``."""
        rows = np.arange(self.n)
        return self.action_dist[rows, self.action, self.position] / self.pscore


def _int_array(name: str, x: object, n: int, upper: int, what: str) -> np.ndarray:
    a = np.asarray(x)
    check_shape(name, a, (n,))
    if a.dtype.kind == "b" or a.dtype.kind not in "iuf":
        raise ValueError(f"{name}: expected integer {what} indices, got dtype {a.dtype}")
    if a.dtype.kind == "f":
        check_finite(name, a)
        if not np.all(a == np.round(a)):
            bad = a[a != np.round(a)][0]
            raise ValueError(f"{name}: expected integer {what} indices, got {bad}")
    out = a.astype(np.int64)
    if out.size and (out.min() < 0 or out.max() >= upper):
        bad = out[(out < 0) | (out >= upper)][0]
        raise ValueError(f"{name}: expected {what} indices in [0, {upper - 1}], got {bad}")
    return out


def _float_array(name: str, x: object) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected a numeric array, got {x!r}") from exc
    check_finite(name, a)
    return a


def logged_feedback(
    reward: object,
    action: object,
    pscore: object,
    action_dist: object,
    *,
    position: object | None = None,
    estimated_rewards: object | None = None,
) -> LoggedFeedback:
    """Check logged bandit feedback and an evaluation policy's ``action_dist`` once, and return them typed.

    ``action_dist`` is ``(n, n_actions)`` (one slot) or ``(n, n_actions, len_list)`` with ``position`` giving each
    round's slot (default slot 0, as obp does). ``estimated_rewards`` (for DM and DR) has the same shape.
    Raises ``ValueError`` naming the field, what was expected and what was given.

    >>> import numpy as np
    >>> reward, action, pscore = np.array([1.0, 0.0, 1.0, 0.0]), np.array([0, 1, 0, 1]), np.full(4, 0.5)
    >>> always_0 = np.tile([1.0, 0.0], (4, 1))           # the evaluation policy: action 0 every round
    >>> logged_feedback(reward, action, pscore, always_0).position.tolist()    # slot 0 by default
    [0, 0, 0, 0]
    >>> logged_feedback(reward, action, [0.5, 0.5, 0.5, 0.0], always_0)
    Traceback (most recent call last):
    ...
    ValueError: pscore: expected propensities in (0, 1], got 0.0
    """
    r = _float_array("reward", reward)
    if r.ndim != 1 or r.shape[0] == 0:
        raise ValueError(f"reward: expected a non-empty 1-d array of shape (n,), got shape {r.shape}")
    n = r.shape[0]
    pi = _float_array("action_dist", action_dist)
    if pi.ndim not in (2, 3) or pi.shape[0] != n or pi.shape[1] == 0 or (pi.ndim == 3 and pi.shape[2] == 0):
        raise ValueError(f"action_dist: expected shape ({n}, n_actions) or ({n}, n_actions, len_list), "
                         f"got shape {pi.shape}")
    if pi.ndim == 2:
        if position is not None:
            raise ValueError("position: expected None when action_dist has no position axis (shape (n, n_actions)),"
                             f" got an array; pass action_dist of shape ({n}, n_actions, len_list)")
        pi = pi[:, :, None]
    n_actions, len_list = pi.shape[1], pi.shape[2]
    if (pi < 0).any():
        raise ValueError(f"action_dist: expected probabilities >= 0, got {pi[pi < 0][0]}")
    sums = pi.sum(axis=1)
    if not np.all(np.abs(sums - 1.0) <= _SUM_TOL):
        bad = np.argwhere(np.abs(sums - 1.0) > _SUM_TOL)[0]
        got = float(sums[tuple(bad)])  # a plain number in the message, not numpy's repr
        raise ValueError(f"action_dist: expected each row to sum to 1 over actions, got {got:.12g} at "
                         f"round {bad[0]}, position {bad[1]}")
    a = _int_array("action", action, n, n_actions, "action")
    k = (np.zeros(n, dtype=np.int64) if position is None
         else _int_array("position", position, n, len_list, "position"))
    p = _float_array("pscore", pscore)
    check_shape("pscore", p, (n,))
    if not np.all((p > 0) & (p <= 1)):
        raise ValueError(f"pscore: expected propensities in (0, 1], got {p[~((p > 0) & (p <= 1))][0]}")
    q = None
    if estimated_rewards is not None:
        q = _float_array("estimated_rewards", estimated_rewards)
        if q.ndim == 2:
            q = q[:, :, None]
        check_shape("estimated_rewards", q, pi.shape)
    return LoggedFeedback(reward=r, action=a, pscore=p, position=k, action_dist=pi, estimated_rewards=q)


# ---- per-round values: each estimator is the mean of these ---------------------------------------------------

RoundValues = Callable[[LoggedFeedback], np.ndarray]
ESTIMATORS: dict[str, RoundValues] = {}
"""Registry of estimators by name: each maps validated feedback to per-round values whose mean is the estimate."""


def register_estimator(name: str, *, needs_model: bool = False) -> Callable[[RoundValues], RoundValues]:
    def deco(fn: RoundValues) -> RoundValues:
        if name in ESTIMATORS:
            raise ValueError(f"estimator name {name!r} is already registered")
        fn.needs_model = needs_model  # type: ignore[attr-defined]
        ESTIMATORS[name] = fn
        return fn

    return deco


def _model(fb: LoggedFeedback, name: str) -> np.ndarray:
    if fb.estimated_rewards is None:
        raise ValueError(f"estimated_rewards: expected an array of shape {fb.action_dist.shape} for {name}, got None")
    return fb.estimated_rewards


def _q_at_pi(fb: LoggedFeedback, q: np.ndarray) -> np.ndarray:
    """``q_hat(x_t, pi_e)`` at each round's logged position."""
    rows = np.arange(fb.n)
    pi_k = fb.action_dist[rows, :, fb.position]
    # obp uses np.average(q, weights=pi): the normaliser is 1 here since rows were checked to sum to 1
    return (pi_k * q[rows, :, fb.position]).sum(axis=1) / pi_k.sum(axis=1)


@register_estimator("ips")
def ips_values(fb: LoggedFeedback) -> np.ndarray:
    return fb.weights * fb.reward


@register_estimator("snips")
def snips_values(fb: LoggedFeedback) -> np.ndarray:
    w = fb.weights
    if w.sum() <= 0:
        raise ValueError("action_dist: expected the evaluation policy to give positive probability to at least one "
                         "logged (action, position), got zero for all; SNIPS is undefined")
    return fb.reward * w / w.mean()


@register_estimator("dm", needs_model=True)
def dm_values(fb: LoggedFeedback) -> np.ndarray:
    return _q_at_pi(fb, _model(fb, "dm"))


@register_estimator("dr", needs_model=True)
def dr_values(fb: LoggedFeedback) -> np.ndarray:
    q = _model(fb, "dr")
    q_logged = q[np.arange(fb.n), fb.action, fb.position]
    return _q_at_pi(fb, q) + fb.weights * (fb.reward - q_logged)


# ---- public estimates ------------------------------------------------------------------------------------------


def _estimate(name: str, reward: object, action: object, pscore: object, action_dist: object,
              position: object | None, estimated_rewards: object | None) -> float:
    fb = logged_feedback(reward, action, pscore, action_dist, position=position,
                         estimated_rewards=estimated_rewards)
    return float(ESTIMATORS[name](fb).mean())


def ips(reward: object, action: object, pscore: object, action_dist: object, *,
        position: object | None = None) -> float:
    """Inverse propensity scoring, ``mean(w r)``.

    >>> import numpy as np
    >>> reward, action, pscore = np.array([1.0, 0.0, 1.0, 0.0]), np.array([0, 1, 0, 1]), np.full(4, 0.5)
    >>> always_0 = np.tile([1.0, 0.0], (4, 1))           # the evaluation policy: action 0 every round
    >>> ips(reward, action, pscore, always_0)              # action 0 was rewarded every time it was logged
    1.0
    >>> ips(reward, action, pscore, np.full((4, 2), 0.5))  # uniform over both actions
    0.5
    """
    return _estimate("ips", reward, action, pscore, action_dist, position, None)


def snips(reward: object, action: object, pscore: object, action_dist: object, *,
          position: object | None = None) -> float:
    """Self-normalised IPS, ``sum(w r) / sum(w)``: invariant to scaling all propensities by one constant.

    >>> import numpy as np
    >>> reward, action, pscore = np.array([1.0, 0.0, 1.0, 0.0]), np.array([0, 1, 0, 1]), np.full(4, 0.5)
    >>> always_0 = np.tile([1.0, 0.0], (4, 1))           # the evaluation policy: action 0 every round
    >>> snips(reward, action, pscore, always_0), snips(reward, action, pscore / 2, always_0)
    (1.0, 1.0)
    >>> ips(reward, action, pscore / 2, always_0)                     # IPS is not
    2.0
    """
    return _estimate("snips", reward, action, pscore, action_dist, position, None)


def dm(reward: object, action: object, pscore: object, action_dist: object, estimated_rewards: object, *,
       position: object | None = None) -> float:
    """Direct method, ``mean(q_hat(x, pi_e))``; ``reward``, ``action`` and ``pscore`` are only validated.

    >>> import numpy as np
    >>> reward, action, pscore = np.array([1.0, 0.0, 1.0, 0.0]), np.array([0, 1, 0, 1]), np.full(4, 0.5)
    >>> always_0 = np.tile([1.0, 0.0], (4, 1))           # the evaluation policy: action 0 every round
    >>> q_hat = np.tile([0.8, 0.1], (4, 1))              # a reward model's estimate of each action's reward
    >>> dm(reward, action, pscore, always_0, q_hat)                  # the model's value of action 0
    0.8
    """
    return _estimate("dm", reward, action, pscore, action_dist, position, estimated_rewards)


def dr(reward: object, action: object, pscore: object, action_dist: object, estimated_rewards: object, *,
       position: object | None = None) -> float:
    """Doubly robust, ``mean(q_hat(x, pi_e) + w (r - q_hat(x, a)))``.

    >>> import numpy as np
    >>> reward, action, pscore = np.array([1.0, 0.0, 1.0, 0.0]), np.array([0, 1, 0, 1]), np.full(4, 0.5)
    >>> always_0 = np.tile([1.0, 0.0], (4, 1))           # the evaluation policy: action 0 every round
    >>> q_hat = np.tile([0.8, 0.1], (4, 1))              # a reward model's estimate of each action's reward
    >>> dr(reward, action, pscore, always_0, q_hat)        # the model's 0.8, corrected by the logged rewards
    1.0
    """
    return _estimate("dr", reward, action, pscore, action_dist, position, estimated_rewards)


def bootstrap_ci(values: object, *, n_boot: int = 2000, alpha: float = 0.05,
                 seed: int | np.random.Generator = 0) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean of per-round ``values``: resample rounds with replacement ``n_boot``
    times, and return the ``alpha/2`` and ``1 - alpha/2`` quantiles of the resampled means (as obp's
    ``estimate_confidence_interval_by_bootstrap``, with a seeded ``numpy.random.Generator``). The checked
    arguments of ``warmstart.stats.bootstrap_ci``, whose resamples are drawn in blocks of rows.

    >>> bootstrap_ci([2.0, 0.0, 2.0, 0.0], n_boot=200, seed=0)         # IPS's per-round values
    (0.0, 2.0)
    >>> bootstrap_ci([1.0, 2.0], n_boot=0)
    Traceback (most recent call last):
    ...
    ValueError: n_boot: expected a positive integer, got 0
    """
    v = _float_array("values", values)
    if v.ndim != 1 or v.shape[0] == 0:
        raise ValueError(f"values: expected a non-empty 1-d array, got shape {v.shape}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot: expected a positive integer, got {n_boot!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha: expected a number in (0, 1), got {alpha!r}")
    lo, hi = stats.bootstrap_ci(v, np.random.default_rng(seed), int(n_boot), probs=(alpha / 2, 1 - alpha / 2))
    return lo, hi


def estimate_all(
    reward: object,
    action: object,
    pscore: object,
    action_dist: object,
    *,
    position: object | None = None,
    estimated_rewards: object | None = None,
    estimators: tuple[str, ...] | None = None,
    n_boot: int = 2000,
    alpha: float = 0.05,
    seed: int = 0,
) -> dict[str, OPEResult]:
    """Every registered estimator (DM and DR only when ``estimated_rewards`` is given), each with a bootstrap CI.

    The CI of each estimator uses its own generator seeded from ``seed`` and its name, so adding an estimator
    does not move the others' intervals. ``OPEResult.ci95`` holds the ``1 - alpha`` interval (95 % by default).

    >>> import numpy as np
    >>> reward, action, pscore = np.array([1.0, 0.0, 1.0, 0.0]), np.array([0, 1, 0, 1]), np.full(4, 0.5)
    >>> always_0 = np.tile([1.0, 0.0], (4, 1))           # the evaluation policy: action 0 every round
    >>> q_hat = np.tile([0.8, 0.1], (4, 1))              # a reward model's estimate of each action's reward
    >>> results = estimate_all(reward, action, pscore, always_0, estimated_rewards=q_hat, n_boot=200, seed=0)
    >>> {name: (r.estimate, r.ci95) for name, r in results.items()}
    {'ips': (1.0, (0.0, 2.0)), 'snips': (1.0, (0.0, 2.0)), 'dm': (0.8, (0.8, 0.8)), 'dr': (1.0, (0.8, 1.2))}
    """
    fb = logged_feedback(reward, action, pscore, action_dist, position=position,
                         estimated_rewards=estimated_rewards)
    return estimate_feedback(fb, estimators=estimators, n_boot=n_boot, alpha=alpha, seed=seed)[0]


def estimate_feedback(fb: LoggedFeedback, *, estimators: tuple[str, ...] | None = None, n_boot: int = 2000,
                      alpha: float = 0.05, seed: int = 0) -> tuple[dict[str, OPEResult], dict[str, np.ndarray]]:
    """``estimate_all`` on feedback checked already, also returning each estimator's per-round values (whose
    mean is the estimate; a paired comparison of two policies bootstraps their difference).

    >>> import numpy as np
    >>> reward, action, pscore = np.array([1.0, 0.0, 1.0, 0.0]), np.array([0, 1, 0, 1]), np.full(4, 0.5)
    >>> always_0 = np.tile([1.0, 0.0], (4, 1))           # the evaluation policy: action 0 every round
    >>> q_hat = np.tile([0.8, 0.1], (4, 1))              # a reward model's estimate of each action's reward
    >>> fb = logged_feedback(reward, action, pscore, always_0, estimated_rewards=q_hat)
    >>> results, values = estimate_feedback(fb, estimators=("ips", "dr"), n_boot=200)
    >>> results["dr"].estimate, values["dr"].tolist()
    (1.0, [1.2, 0.8, 1.2, 0.8])
    """
    if estimators is None:
        names = tuple(k for k, f in ESTIMATORS.items()
                      if fb.estimated_rewards is not None or not f.needs_model)  # type: ignore[attr-defined]
    else:
        unknown = [e for e in estimators if e not in ESTIMATORS]
        if unknown:
            raise ValueError(f"estimators: expected names among {', '.join(ESTIMATORS)}, got {unknown}")
        names = tuple(estimators)
    out: dict[str, OPEResult] = {}
    values: dict[str, np.ndarray] = {}
    for name in names:
        values[name] = ESTIMATORS[name](fb)
        ss = np.random.SeedSequence([seed, *name.encode()])
        ci = bootstrap_ci(values[name], n_boot=n_boot, alpha=alpha, seed=np.random.default_rng(ss))
        out[name] = OPEResult(name=name, estimate=float(values[name].mean()), ci95=ci, n=fb.n)
    return out, values
