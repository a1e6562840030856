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
    """A one-component 'population': a single Gaussian prior."""
    return Population(GaussianTypes(mean[None], cov[None], np.array([noise_var])), np.ones(1))


def overall_moments(population: Population) -> tuple[np.ndarray, np.ndarray, float]:
    """Mean, covariance and average noise variance of the population's fitted types (novel excluded)."""
    K = population.n_types
    comps = population.components
    p = population.weights[:K] / population.weights[:K].sum()
    mean = p @ comps.mu[:K]
    second = np.einsum("k,kij->ij", p, comps.cov[:K] + np.einsum("ki,kj->kij", comps.mu[:K], comps.mu[:K]))
    return mean, second - np.outer(mean, mean), float(p @ comps.noise_var[:K])


@register_policy("from_scratch_ts")
class FromScratchTS(ThompsonPolicy):
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
    """Needs the training summaries: the pooled prior is its own K = 1 EM fit, not our mixture."""

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
    needs_truth = True

    def prior(self, truth: UserTruth | None) -> Population:
        assert truth is not None
        return single_gaussian(truth.prior_mean, truth.prior_cov, truth.noise_var)

    def settings(self) -> dict[str, Any]:
        return {"prior": "the user's true type prior and noise", "n_samples": self.n_samples}


@register_policy("oracle")
class Oracle(Policy):
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
    def _new_user(self, truth: UserTruth | None) -> None:
        return None

    def _act(self, state: None, X: np.ndarray) -> Decision:
        A = X.shape[0]
        return Decision(int(self.rng.integers(A)), 1.0 / A, np.full(A, 1.0 / A))

    def _update(self, state: None, X: np.ndarray, action: int, reward: float) -> None:
        pass
