"""``mixture_ids_lookahead``: ``mixture_ids`` that plans its first steps one reward ahead (issue 18's stretch,
"the identification itself"); registered under its own name so that a benchmark can run it next to
``mixture_ids`` (``warmstart bench coldstart --policies mixture_ids,mixture_ids_lookahead,...``)."""

from __future__ import annotations

from warmstart.policies.base import PolicyContext, register_policy
from warmstart.policies.mixture import MixtureIDS


@register_policy("mixture_ids_lookahead")
class MixtureIDSLookahead(MixtureIDS):
    """``mixture_ids`` with ``lookahead = 1``: while no type holds 99% of the posterior, the candidate with the
    largest posterior mean reward plus its knowledge gradient (``warmstart.policies.lookahead``) is played.

    >>> import numpy as np
    >>> from warmstart.families.linear import GaussianTypes, Population
    >>> types = GaussianTypes(mu=np.array([[1.0, 0.3], [-1.0, 0.3], [0.0, 0.0]]),  # 2 types and the novel one
    ...                       cov=np.stack([0.01 * np.eye(2), 0.01 * np.eye(2), np.eye(2)]),
    ...                       noise_var=np.full(3, 0.25))
    >>> population = Population(types, weights=np.array([0.5, 0.45, 0.05]))
    >>> from warmstart.policies import PolicyContext, make_policy
    >>> context, X = PolicyContext(population=population), np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> policy = make_policy("mixture_ids_lookahead", context, seed=0)
    >>> state = policy.new_user()
    >>> policy.act(state, X)                 # candidate 0 is worth nothing now but tells the type
    Decision(action=0, propensity=1.0, probabilities=array([1., 0.]))
    >>> policy.update(state, X, 0, -1.1)     # -1.1: type 1
    >>> policy.act(state, X).action, policy.settings()["lookahead"]
    (1, 1.0)
    """

    def __init__(self, context: PolicyContext, *, seed: int = 0, n_samples: int = 100, prior_temper: float = 0.0,
                 change_hazard: float = 0.0, discount: float = 1.0, lookahead: float = 1.0) -> None:
        super().__init__(context, seed=seed, n_samples=n_samples, prior_temper=prior_temper,
                         change_hazard=change_hazard, discount=discount, lookahead=lookahead)
