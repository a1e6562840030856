"""The linear-Gaussian family through the family protocol (``warmstart.families.protocol``).

Parameters are ``mu (K, d)``, ``cov (K, d, d)``, ``noise_var (K,)``; the statistics are the additive
``Summary``; the E-step and M-step are the ones the population fit runs (``estep.chunk_terms``, ``em._m_step``,
which keep a broad *novel* component as the last type); a user's state is each type's Gaussian posterior.
``fit`` is the full population fit (K selection, restarts, split and merge moves, backends): the generic EM
driver runs the same steps without the moves.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from warmstart._cluster import kmeans_pp
from warmstart.data.bandit_log import TrainingLog
from warmstart.families.linear.belief import _observe
from warmstart.families.linear.em import _m_step
from warmstart.families.linear.estep import chunk_terms
from warmstart.families.linear.fit import FitConfig, _init_from_labels, fit_population, ridge_estimates
from warmstart.families.linear.model import GaussianTypes, Summary, log_evidence, summarise_log
from warmstart.families.linear.population import Population
from warmstart.families.protocol import Family, Params, State, register_family


def _types(params: Params) -> GaussianTypes:
    return GaussianTypes(params["mu"], params["cov"], params["noise_var"])


def _params(types: GaussianTypes) -> Params:
    return {"mu": types.mu, "cov": types.cov, "noise_var": types.noise_var}


@register_family
class LinearGaussian(Family):
    """``reward = x . theta_user + noise``; type ``k``: ``theta ~ N(mu_k, cov_k)``, noise variance
    ``noise_var_k``.

    The protocol's methods are shown on ``warmstart.families.protocol.Family``; its own full fit:

    >>> import warmstart as ws
    >>> truth = ws.sim.LinearTypesPopulation(ws.sim.LinearTypesConfig(dim=3, n_types=3, minority_share=0.3,
    ...                                                                 outlier_share=0.0))
    >>> fam = LinearGaussian()
    >>> population = fam.fit(fam.summarise(truth.logged(90, 20, seed=0)), k_range=(1, 5))
    >>> fam.name, type(population).__name__, population.n_types
    ('linear_gaussian', 'Population', 3)
    """

    name = "linear_gaussian"

    def __init__(self, config: FitConfig | None = None) -> None:
        self.config = config or FitConfig(split_merge=False)

    def summarise(self, log: TrainingLog) -> Summary:
        return summarise_log(log)

    def n_users(self, stats: Summary) -> int:
        return stats.n_users

    def take(self, stats: Summary, index: np.ndarray | slice) -> Summary:
        return stats[index]

    def initial(self, stats: Summary, k: int, rng: np.random.Generator) -> tuple[Params, np.ndarray]:
        theta_hat = ridge_estimates(stats)
        labels = kmeans_pp(theta_hat, k, rng) if k > 1 else np.zeros(stats.n_users, dtype=int)
        comps, weights = _init_from_labels(stats, theta_hat, labels, k, self.config)
        return _params(comps), weights

    def e_step(self, stats: Summary, params: Params, weights: np.ndarray) -> tuple[float, Any]:
        comps = _types(params)
        return chunk_terms(stats, comps, comps.precision(), np.log(weights), True)

    def m_step(self, sums: Any, params: Params, n_users: int) -> tuple[Params, np.ndarray]:
        comps, weights = _m_step(sums, _types(params), self.config, n_users)
        return _params(comps), weights

    def log_evidence(self, stats: Summary, params: Params) -> np.ndarray:
        return log_evidence(stats, _types(params))

    def n_free(self, params: Params) -> int:
        k, d = params["mu"].shape
        return k * (d + d * (d + 1) // 2 + 1)

    def dim(self, params: Params) -> int:
        return int(params["mu"].shape[1])

    def new_state(self, params: Params) -> State:
        return {"mean": params["mu"].copy(), "cov": params["cov"].copy()}

    def observe(self, state: State, params: Params, x: np.ndarray, reward: float) -> np.ndarray:
        logp = np.zeros(params["mu"].shape[0])
        _observe(state["mean"], state["cov"], logp, params["noise_var"], x, np.float64(reward))
        return logp

    def draw_values(self, state: State, params: Params, k: int, X: np.ndarray,
                    rng: np.random.Generator) -> np.ndarray:
        theta = rng.multivariate_normal(state["mean"][k], state["cov"][k], method="cholesky")
        return X @ theta

    def expected_values(self, state: State, params: Params, X: np.ndarray) -> np.ndarray:
        return np.asarray(state["mean"] @ X.T)

    def fit(self, stats: Summary, **config: Any) -> Population:
        """The full population fit (``warmstart.families.linear.fit.fit_population``)."""
        return fit_population(stats, FitConfig(**config))

