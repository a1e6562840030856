"""The Bernoulli-logistic family through the family protocol (``warmstart.families.protocol``).

``P(r = 1 | x, w) = sigmoid(x . w)`` for rewards ``r`` in {0, 1}; a user's ``w ~ N(mu_k, cov_k)`` given their
type ``k``. Parameters are ``mu (K, d)`` and ``cov (K, d, d)``; the statistics are the users' events in time
order (``model.Events``); a user's state is each type's Gaussian belief over ``w``, updated event by event by
the assumed-density filter of ``model`` (``observe`` returns each type's log predictive probability, so the
type posterior is the filter's after every event, and equals ``TypePopulation.posterior`` on the same events).

**EM.** The E-step runs that same filter over each user's events under each type: the log evidence is the sum
of the log predictive probabilities, the responsibilities its softmax with the log weights, and the filter's
final ``N(m_nk, S_nk)`` the user's posterior under the type. The M-step sets ``mu_k`` and ``cov_k`` to the
responsibility-weighted mean and second moment of those posteriors, ``cov_k = E[(w - mu_k)(w - mu_k)'] + ridge
I`` (the EM of a hierarchical model with Gaussian posteriors, as for a mixture of Bayesian regressions), and
the weights to the mean responsibilities. The posteriors are approximate (ADF), so EM need not increase the
objective at every pass; ``generic.run_em`` stops when it changes by less than its tolerance or after
``max_iter`` passes. Start: each user's posterior mean under one broad prior ``N(0, prior_var I)``, grouped by
k-means++.

>>> fam = LogisticBernoulli()
>>> log, types = simulate(np.array([[2.0, -2.0], [-2.0, 2.0]]), np.array([0.5, 0.5]), 200, 30, seed=0)
>>> stats = fam.summarise(log)
>>> params, weights = fam.initial(stats, 2, np.random.default_rng(0))
>>> from warmstart.families.generic import run_em
>>> fit = run_em(fam, stats, params, weights, max_iter=50)
>>> order = np.argsort(fit.params["mu"][:, 0])
>>> fit.params["mu"][order].round(0).tolist(), fit.weights[order].round(2).tolist(), np.bincount(types) / 200
([[-2.0, 2.0], [2.0, -2.0]], [0.56, 0.44], array([0.44, 0.56]))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from warmstart._cluster import kmeans_pp
from warmstart.data.bandit_log import TrainingLog
from warmstart.families.logistic.model import Events, adf_pass, adf_step, predict_proba
from warmstart.families.protocol import Family, Params, State, register_family
from warmstart.stats import normalised_exp

#: the prior variance of each weight in the EM's start, and the ridge added to every type's covariance
PRIOR_VAR = 4.0
RIDGE = 1e-3
MIN_WEIGHT = 1e-6


@register_family
class LogisticBernoulli(Family):
    """0/1 rewards, ``P(r = 1) = sigmoid(x . w)``, ``w ~ N(mu_k, cov_k)`` in type ``k`` (see the module).

    >>> from warmstart.families.generic import TypeBelief, fit_types
    >>> fam = LogisticBernoulli()
    >>> log, _ = simulate(np.array([[2.0, -2.0], [-2.0, 2.0]]), np.array([0.7, 0.3]), 150, 20, seed=1)
    >>> population = fit_types(fam, fam.summarise(log), k_range=(1, 3), n_init=1)   # K by BIC
    >>> population.n_types, population.weights.round(1).tolist()
    (2, [0.7, 0.3])
    >>> belief = TypeBelief.fresh(population)
    >>> for _ in range(4):
    ...     belief.observe(np.array([1.0, 0.0]), 0.0)    # item 0 disliked: the minority type
    >>> int(np.argmax(belief.type_probs())) == int(np.argmin(population.params["mu"][:, 0]))
    True
    >>> fam.predict(belief.state, population.params, np.array([1.0, 0.0])).round(2).tolist()
    [0.78, 0.1]
    >>> fam.check_reward(0.5)
    Traceback (most recent call last):
    ...
    ValueError: reward: expected 0 or 1 for the family 'logistic_bernoulli', got 0.5
    """

    name = "logistic_bernoulli"

    # ------------------------------------------------------------------------------------------ statistics
    def summarise(self, log: TrainingLog) -> Events:
        mask = np.asarray(log.action) >= 0
        return Events.from_arrays(log.chosen, log.reward, mask)

    def n_users(self, stats: Events) -> int:
        return stats.n_users

    def take(self, stats: Events, index: np.ndarray | slice) -> Events:
        return stats.take(index)

    # ------------------------------------------------------------------------------------------ EM
    def initial(self, stats: Events, k: int, rng: np.random.Generator) -> tuple[Params, np.ndarray]:
        d = stats.dim
        broad = adf_pass(stats, np.zeros((1, d)), PRIOR_VAR * np.eye(d)[None])
        means = broad.mean[:, 0]
        labels = kmeans_pp(means, k, rng) if k > 1 else np.zeros(stats.n_users, dtype=int)
        resp = np.eye(k)[labels]
        return self._from_moments(self._moments(resp, broad.mean[:, 0:1].repeat(k, 1),
                                                broad.cov[:, 0:1].repeat(k, 1)), stats.n_users)

    @staticmethod
    def _moments(resp: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, ...]:
        """The additive sums of a pass: ``sum resp``, ``sum resp m``, ``sum resp (S + m m')`` per type."""
        second = cov + mean[..., :, None] * mean[..., None, :]
        return resp.sum(0), np.einsum("nk,nkd->kd", resp, mean), np.einsum("nk,nkde->kde", resp, second)

    @staticmethod
    def _from_moments(sums: tuple[np.ndarray, ...], n_users: int) -> tuple[Params, np.ndarray]:
        w, first, second = sums
        d = first.shape[1]
        safe = np.maximum(w, 1e-12)
        mu = first / safe[:, None]
        cov = second / safe[:, None, None] - mu[:, :, None] * mu[:, None, :]
        cov = 0.5 * (cov + np.swapaxes(cov, 1, 2)) + RIDGE * np.eye(d)
        # an empty type keeps a broad prior rather than a degenerate one
        empty = w < 1e-9
        cov[empty] = PRIOR_VAR * np.eye(d)
        weights = np.maximum(w / n_users, MIN_WEIGHT)
        return {"mu": mu, "cov": cov}, weights / weights.sum()

    def e_step(self, stats: Events, params: Params, weights: np.ndarray) -> tuple[float, Any]:
        out = adf_pass(stats, params["mu"], params["cov"])
        joint = out.log_evidence + np.log(weights)
        top = joint.max(1, keepdims=True)
        norm = top[:, 0] + np.log(np.exp(joint - top).sum(1))
        resp = np.exp(joint - norm[:, None])
        return float(norm.sum()), self._moments(resp, out.mean, out.cov)

    def m_step(self, sums: Any, params: Params, n_users: int) -> tuple[Params, np.ndarray]:
        return self._from_moments(sums, n_users)

    def log_evidence(self, stats: Events, params: Params) -> np.ndarray:
        return adf_pass(stats, params["mu"], params["cov"]).log_evidence

    def n_free(self, params: Params) -> int:
        k, d = params["mu"].shape
        return k * (d + d * (d + 1) // 2)

    def dim(self, params: Params) -> int:
        return int(params["mu"].shape[1])

    # ------------------------------------------------------------------------------------------ belief
    def new_state(self, params: Params) -> State:
        return {"mean": params["mu"].copy(), "cov": params["cov"].copy()}

    def observe(self, state: State, params: Params, x: np.ndarray, reward: float) -> np.ndarray:
        return adf_step(state["mean"], state["cov"], np.asarray(x, dtype=np.float64), np.float64(reward))

    def draw_values(self, state: State, params: Params, k: int, X: np.ndarray,
                    rng: np.random.Generator) -> np.ndarray:
        w = rng.multivariate_normal(state["mean"][k], state["cov"][k], method="cholesky")
        return np.asarray(X @ w)  # the logit: sigmoid is increasing, so the argmax is the same

    def expected_values(self, state: State, params: Params, X: np.ndarray) -> np.ndarray:
        return predict_proba(state["mean"][:, None, :], state["cov"][:, None], np.asarray(X, dtype=np.float64)[None])

    def predict(self, state: State, params: Params, x: np.ndarray) -> np.ndarray:
        """``(K,)``: each type's predictive ``P(r = 1)`` of the item ``x`` given the user's events so far
        (shown in the class example)."""
        return predict_proba(state["mean"], state["cov"], np.asarray(x, dtype=np.float64))

    def check_reward(self, reward: float) -> float:
        if reward not in (0.0, 1.0):
            raise ValueError(f"reward: expected 0 or 1 for the family {self.name!r}, got {reward}")
        return reward

    def reward_for(self, value: float) -> float:
        return float(value > 0)


def simulate(mu: np.ndarray, shares: np.ndarray, n_users: int, n_events: int, seed: int, *,
             spread: float = 0.3) -> tuple[TrainingLog, np.ndarray]:
    """A log of users of the types ``mu (K, d)`` (each user's ``w = mu_k + spread * noise``) shown one item per
    event with standard normal features, answering 1 with probability ``sigmoid(x . w)``; and each user's type.

    >>> log, types = simulate(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0.5, 0.5]), 4, 3, seed=0)
    >>> log.candidates.shape, types.tolist(), sorted(set(log.reward.ravel().tolist()))
    ((4, 3, 1, 2), [1, 0, 0, 0], [0.0, 1.0])
    """
    rng = np.random.default_rng(seed)
    k, d = mu.shape
    types = rng.choice(k, size=n_users, p=shares)
    w = mu[types] + spread * rng.standard_normal((n_users, d))
    x = rng.standard_normal((n_users, n_events, d))
    p = 1.0 / (1.0 + np.exp(-np.einsum("ntd,nd->nt", x, w)))
    reward = (rng.random((n_users, n_events)) < p).astype(float)
    log = TrainingLog(x[:, :, None, :], np.zeros((n_users, n_events), dtype=np.int64),
                      np.ones((n_users, n_events)), reward)
    return log, types


def posterior_types(events: Events, params: Params, weights: np.ndarray) -> np.ndarray:
    """``(N, K)``: each user's posterior over the types after their events (what ``TypeBelief`` holds after
    observing them one by one).

    >>> log, types = simulate(np.array([[3.0, 0.0], [-3.0, 0.0]]), np.array([0.5, 0.5]), 3, 15, seed=2)
    >>> params = {"mu": np.array([[3.0, 0.0], [-3.0, 0.0]]), "cov": np.stack([0.1 * np.eye(2)] * 2)}
    >>> post = posterior_types(LogisticBernoulli().summarise(log), params, np.array([0.5, 0.5]))
    >>> post.argmax(1).tolist() == types.tolist()
    True
    """
    return normalised_exp(adf_pass(events, params["mu"], params["cov"]).log_evidence + np.log(weights))
