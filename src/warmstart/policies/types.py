"""The policies that serve a population of any family through the family protocol alone, so that a new family is
served with nothing else written:

- ``type_ts``: Thompson sampling over the types, then over the user's parameters within the drawn type
  (``Family.draw_values``). The propensity is estimated as in ``mixture_ts``: the share of ``n_samples`` draws
  that choose the played action, the played draw included (never zero; biased up by at most ``1 / n_samples``).
- ``type_greedy``: the candidate with the largest expected value under the user's type posterior (the types'
  ``Family.expected_values`` weighted by the type probabilities), what ``mixture_greedy`` is to the linear
  family; deterministic (propensity 1). ``bench replay`` and ``fit --log`` choose between the two by replaying
  the training users' validation users.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from warmstart.families.generic import TypeBelief, TypePopulation
from warmstart.policies.base import Decision, Policy, PolicyContext, StateSummary, UserTruth, register_policy


@register_policy("type_ts")
class TypeThompson(Policy):
    """Thompson sampling on a ``TypeBelief`` (a population of any family fitted by ``fit_types``).

    >>> import numpy as np
    >>> from warmstart.families.generic import TypePopulation
    >>> from warmstart.families.registry import available_families    # importing it registers the families
    >>> from warmstart.policies import PolicyContext, make_policy
    >>> params = {"mu": np.array([[1.0, 0.0], [-1.0, 0.0]]), "cov": np.stack([0.1 * np.eye(2)] * 2),
    ...           "noise_var": np.full(2, 0.25)}                       # two types of the linear family
    >>> population = TypePopulation(family="linear_gaussian", weights=np.array([0.5, 0.5]), params=params)
    >>> policy = make_policy("type_ts", PolicyContext(population=population), seed=0)
    >>> policy.settings()
    {'n_samples': 32, 'family': 'linear_gaussian'}
    >>> X, state = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]]), policy.new_user()
    >>> policy.act(state, X).probabilities.tolist()                   # shares of the 32 draws
    [0.375, 0.59375, 0.03125]
    >>> policy.update(state, X, 1, 1.1)                               # candidate 1 gave 1.1: like type 1
    >>> policy.summarise_state(state).type_probs.round(3).tolist(), policy.act(state, X).action
    ([0.002, 0.998], 1)
    >>> policy.state_from_bytes(policy.state_to_bytes(state)).n       # what a store keeps
    1.0
    >>> from warmstart.policies.baselines import single_gaussian          # the linear family's own Population
    >>> make_policy("type_ts", PolicyContext(population=single_gaussian(np.zeros(2), np.eye(2), 0.25)))
    Traceback (most recent call last):
    ...
    ValueError: policy 'type_ts': expected a population of a generic family (TypePopulation), got Population
    """

    needs_population = True

    def __init__(self, context: PolicyContext, *, seed: int = 0, n_samples: int = 32) -> None:
        super().__init__(context, seed=seed)
        if not isinstance(context.population, TypePopulation):
            raise ValueError(  # noqa: TRY004 - a bad setting, not a type error
                f"policy 'type_ts': expected a population of a generic family (TypePopulation), got "
                f"{type(context.population).__name__}")
        if n_samples < 1:
            raise ValueError(f"n_samples: expected a positive integer, got {n_samples}")
        self.population = context.population
        self.n_samples = int(n_samples)

    def settings(self) -> dict[str, Any]:
        return {"n_samples": self.n_samples, "family": self.population.family}

    def _new_user(self, truth: UserTruth | None) -> TypeBelief:
        return TypeBelief.fresh(self.population)

    def _act(self, state: TypeBelief, X: np.ndarray) -> Decision:
        if X.shape[0] == 1:
            return Decision(0, 1.0, np.ones(1))
        family, params = self.population.model, self.population.params
        types = self.rng.choice(self.population.n_types, size=self.n_samples, p=state.type_probs())
        choices = np.array([int(np.argmax(family.draw_values(state.state, params, int(k), X, self.rng)))
                            for k in types])
        probs = np.bincount(choices, minlength=X.shape[0]) / self.n_samples
        action = int(choices[0])
        return Decision(action, float(probs[action]), probs)

    def check_reward(self, reward: object) -> float:
        return self.population.model.check_reward(super().check_reward(reward))

    def _update(self, state: TypeBelief, X: np.ndarray, action: int, reward: float) -> None:
        state._observe_trusted(X[action], reward)  # Policy.update checked the reward with check_reward

    def reward_for(self, value: float) -> float:
        return self.population.model.reward_for(value)

    def summarise_state(self, state: TypeBelief) -> StateSummary:
        return StateSummary(n_events=state.n, type_probs=state.type_probs())

    def copy_state(self, state: TypeBelief) -> TypeBelief:
        return state.copy()

    def state_to_bytes(self, state: TypeBelief) -> bytes:
        return state.to_bytes()

    def state_from_bytes(self, data: bytes) -> TypeBelief:
        return TypeBelief.from_bytes(data, self.population)


@register_policy("type_greedy")
class TypeGreedy(TypeThompson):
    """Greedy on a ``TypeBelief``: play the candidate with the largest ``sum_k P(k | events) E_k[value]``, the
    types' expected values (``Family.expected_values``: for a 0/1 reward the predictive ``P(r = 1)``) weighted
    by the type posterior. The first of equal candidates is played. No exploration of its own (the service's
    exploration floor adds it).

    >>> import numpy as np
    >>> from warmstart.families.generic import TypePopulation
    >>> from warmstart.families.registry import available_families    # importing it registers the families
    >>> from warmstart.policies import PolicyContext, make_policy
    >>> params = {"mu": np.array([[2.0, 0.0], [-2.0, 0.0]]), "cov": np.stack([0.1 * np.eye(2)] * 2)}
    >>> population = TypePopulation(family="logistic_bernoulli", weights=np.array([0.6, 0.4]), params=params)
    >>> policy = make_policy("type_greedy", PolicyContext(population=population), seed=0)
    >>> X, state = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]]), policy.new_user()
    >>> policy.act(state, X)                  # the larger type likes candidate 0
    Decision(action=0, propensity=1.0, probabilities=array([1., 0., 0.]))
    >>> policy.update(state, X, 0, 0.0)       # it did not: the other type, whose favourite is candidate 1
    >>> policy.act(state, X).action, policy.settings()
    (1, {'family': 'logistic_bernoulli'})
    """

    def settings(self) -> dict[str, Any]:
        return {"family": self.population.family}

    def _act(self, state: TypeBelief, X: np.ndarray) -> Decision:
        values = state.type_probs() @ self.population.model.expected_values(state.state, self.population.params, X)
        a = int(np.argmax(values))
        return Decision(a, 1.0, np.eye(X.shape[0])[a])
