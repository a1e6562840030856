"""Baselines that share our Gaussian machinery, and the references.

- ``from_scratch_ts``: linear Thompson sampling from one broad prior ``N(0, v I)`` with ``v`` the population's
  overall second moment per dimension (so the prior is calibrated, not arbitrary) and the population's average
  noise variance: what a product does with no population model.
- ``pooled_ts``: Thompson sampling from one population Gaussian prior (K = 1), fitted by EM on the same
  training summaries: the meta-/hierarchical-TS idea (Kveton et al. 2021; Hong et al. 2022).
- ``oracle_type``: Thompson sampling from the user's *true* type prior and noise (outliers: their true broad
  prior). The bootstrap ideal: it knows the type but still has to learn the user.
- ``oracle``: knows theta and plays the best action: the regret reference.
- ``random``: uniform over the candidates.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from warmstart.families.linear.fit import FitConfig, fit_population
from warmstart.families.linear.model import GaussianTypes, summarise_log
from warmstart.families.linear.population import Population
from warmstart.policies.base import Decision, Policy, PolicyContext, UserTruth, register_policy
from warmstart.policies.mixture import ThompsonPolicy


def single_gaussian(mean: np.ndarray, cov: np.ndarray, noise_var: float) -> Population:
    """A one-component 'population': a single Gaussian prior.

    >>> import numpy as np
    >>> one = single_gaussian(np.array([1.0, 0.0]), 0.1 * np.eye(2), 0.25)
    >>> one.n_components, one.n_types, one.type_names()          # its one component is the "novel" one
    (1, 0, ['novel'])
    """
    return Population(GaussianTypes(mean[None], cov[None], np.array([noise_var])), np.ones(1))


def overall_moments(population: Population) -> tuple[np.ndarray, np.ndarray, float]:
    """Mean, covariance and average noise variance of the population's fitted types (novel excluded).

    >>> import numpy as np
    >>> from warmstart.families.linear import GaussianTypes, Population
    >>> types = GaussianTypes(mu=np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]]),  # 2 types and the novel one
    ...                       cov=np.stack([0.1 * np.eye(2), 0.1 * np.eye(2), np.eye(2)]),
    ...                       noise_var=np.full(3, 0.25))
    >>> population = Population(types, weights=np.array([0.5, 0.45, 0.05]))
    >>> mean, cov, noise_var = overall_moments(population)
    >>> mean.round(3).tolist(), cov.round(3).tolist(), noise_var   # the types' spread is in the covariance
    ([0.053, 0.0], [[1.097, 0.0], [0.0, 0.1]], 0.25)
    """
    K = population.n_types
    comps = population.components
    p = population.weights[:K] / population.weights[:K].sum()
    mean = p @ comps.mu[:K]
    second = np.einsum("k,kij->ij", p, comps.cov[:K] + np.einsum("ki,kj->kij", comps.mu[:K], comps.mu[:K]))
    return mean, second - np.outer(mean, mean), float(p @ comps.noise_var[:K])


@register_policy("from_scratch_ts")
class FromScratchTS(ThompsonPolicy):
    """Linear Thompson sampling from one broad prior ``N(0, v I)``, ``v`` the population's overall second
    moment per dimension, with the population's average noise: no types.

    >>> import numpy as np
    >>> from warmstart.families.linear import GaussianTypes, Population
    >>> types = GaussianTypes(mu=np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]]),  # 2 types and the novel one
    ...                       cov=np.stack([0.1 * np.eye(2), 0.1 * np.eye(2), np.eye(2)]),
    ...                       noise_var=np.full(3, 0.25))
    >>> population = Population(types, weights=np.array([0.5, 0.45, 0.05]))
    >>> from warmstart.policies import PolicyContext, make_policy
    >>> policy = make_policy("from_scratch_ts", PolicyContext(population=population), seed=0)
    >>> policy.settings()                                    # v = trace(cov + mean mean') / dim
    {'prior': 'N(0, v I)', 'v': 0.6000000000000001, 'noise_var': 0.25, 'n_samples': 100}
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    >>> policy.act(policy.new_user(), X).probabilities.tolist()   # a new user: about a third each
    [0.33, 0.29, 0.38]
    """

    needs_population = True

    def __init__(self, context: PolicyContext, *, seed: int = 0, n_samples: int = 100) -> None:
        super().__init__(context, seed=seed, n_samples=n_samples)
        assert isinstance(context.population, Population)  # BeliefPolicy checked it
        mean, cov, noise = overall_moments(context.population)
        self.prior_var = float(np.trace(cov + np.outer(mean, mean))) / context.dim
        self.noise_var = noise
        self._prior = single_gaussian(np.zeros(context.dim), self.prior_var * np.eye(context.dim), noise)

    def prior(self, truth: UserTruth | None) -> Population:
        return self._prior

    def settings(self) -> dict[str, Any]:
        return {"prior": "N(0, v I)", "v": self.prior_var, "noise_var": self.noise_var,
                "n_samples": self.n_samples}


@register_policy("pooled_ts")
class PooledTS(ThompsonPolicy):
    """Needs the training summaries: the pooled prior is its own K = 1 EM fit, not our mixture.

    >>> import warmstart as ws
    >>> from warmstart.policies import PolicyContext, make_policy
    >>> cfg = ws.sim.LinearTypesConfig(dim=2, n_types=2, n_actions=5, minority_share=0.5, outlier_share=0.0)
    >>> truth = ws.sim.LinearTypesPopulation(cfg)
    >>> truth.type_means.round(2).tolist()                    # two types, far apart on the first axis
    [[-1.6, 0.06], [0.74, 0.15]]
    >>> policy = make_policy("pooled_ts", PolicyContext(train_log=truth.logged(40, 10, seed=0)), seed=0)
    >>> prior = policy.prior(None).components
    >>> prior.mu.round(2).tolist(), prior.cov.round(2).tolist()          # one Gaussian spread over both
    ([[-0.16, 0.18]], [[[1.41, -0.06], [-0.06, 0.09]]])
    """

    needs_train_log = True

    def __init__(self, context: PolicyContext, *, seed: int = 0, n_samples: int = 100) -> None:
        super().__init__(context, seed=seed, n_samples=n_samples)
        assert context.train_log is not None  # checked by Policy.__init__ (needs_train_log)
        fit = fit_population(summarise_log(context.train_log), FitConfig(n_types=1, split_merge=False, seed=seed))
        c = fit.components
        self._prior = single_gaussian(c.mu[0], c.cov[0], float(c.noise_var[0]))

    def prior(self, truth: UserTruth | None) -> Population:
        return self._prior

    def settings(self) -> dict[str, Any]:
        return {"prior": "one Gaussian fitted by EM on the training users (K = 1)",
                "noise_var": float(self._prior.components.noise_var[0]), "n_samples": self.n_samples}


@register_policy("oracle_type")
class OracleTypeTS(ThompsonPolicy):
    """Thompson sampling from the user's true type prior and noise (``UserTruth``): knows the type, still
    learns the user. A reference: its users' state is not stored.

    >>> import numpy as np
    >>> from warmstart.policies import PolicyContext, UserTruth, make_policy
    >>> truth = UserTruth(theta=np.array([0.9, 0.1]), type_id=0, prior_mean=np.array([1.0, 0.0]),
    ...                   prior_cov=0.1 * np.eye(2), noise_var=0.25)
    >>> policy = make_policy("oracle_type", PolicyContext(dim=2), seed=0)
    >>> state = policy.new_user(truth)
    >>> policy.act(state, np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])).probabilities.tolist()
    [0.99, 0.01, 0.0]
    >>> policy.state_to_bytes(state)
    Traceback (most recent call last):
    ...
    NotImplementedError: policy 'oracle_type': a reference that knows each user's truth; its users' state ...
    """

    needs_truth = True

    def prior(self, truth: UserTruth | None) -> Population:
        assert truth is not None
        return single_gaussian(truth.prior_mean, truth.prior_cov, truth.noise_var)

    def settings(self) -> dict[str, Any]:
        return {"prior": "the user's true type prior and noise", "n_samples": self.n_samples}


@register_policy("oracle")
class Oracle(Policy):
    """Knows the user's ``theta`` and plays the candidate of the highest expected reward: the regret
    reference.

    >>> import numpy as np
    >>> from warmstart.policies import PolicyContext, UserTruth, make_policy
    >>> truth = UserTruth(theta=np.array([0.9, 0.1]), type_id=0, prior_mean=np.array([1.0, 0.0]),
    ...                   prior_cov=0.1 * np.eye(2), noise_var=0.25)
    >>> policy = make_policy("oracle", PolicyContext(dim=2))
    >>> policy.act(policy.new_user(truth), np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]))
    Decision(action=0, propensity=1.0, probabilities=array([1., 0., 0.]))
    """

    needs_truth = True

    def _new_user(self, truth: UserTruth | None) -> np.ndarray:
        assert truth is not None
        return np.asarray(truth.theta, dtype=float)

    def _act(self, state: np.ndarray, X: np.ndarray) -> Decision:
        a = int(np.argmax(X @ state))
        probs = np.zeros(X.shape[0])
        probs[a] = 1.0
        return Decision(a, 1.0, probs)

    def _update(self, state: np.ndarray, X: np.ndarray, action: int, reward: float) -> None:
        pass

    def settings(self) -> dict[str, Any]:
        return {"knows": "theta"}


@register_policy("random")
class UniformRandom(Policy):
    """A uniformly random candidate, from the policy's own generator.

    >>> import numpy as np
    >>> from warmstart.policies import PolicyContext, make_policy
    >>> policy = make_policy("random", PolicyContext(dim=2), seed=0)
    >>> X, state = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]), policy.new_user()
    >>> [policy.act(state, X).action for _ in range(5)], policy.act(state, X).propensity
    ([2, 1, 1, 0, 0], 0.3333333333333333)
    """

    def _new_user(self, truth: UserTruth | None) -> None:
        return None

    def _act(self, state: None, X: np.ndarray) -> Decision:
        A = X.shape[0]
        return Decision(int(self.rng.integers(A)), 1.0 / A, np.full(A, 1.0 / A))

    def _update(self, state: None, X: np.ndarray, action: int, reward: float) -> None:
        pass
